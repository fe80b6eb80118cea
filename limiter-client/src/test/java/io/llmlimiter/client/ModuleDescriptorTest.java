package io.llmlimiter.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The client's module exports its API packages and nothing else: {@code internal} is not API. */
class ModuleDescriptorTest {

    @Test
    void theModuleExportsOnlyTheApiPackages() throws IOException, URISyntaxException {
        Path classes = Path.of(LlmLimiter.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleDescriptor module;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            module = ModuleDescriptor.read(in);
        }
        assertThat(module.name()).isEqualTo("io.llmlimiter.client");
        assertThat(module.exports()).allSatisfy(e -> assertThat(e.isQualified()).isFalse());
        assertThat(module.exports()).extracting(ModuleDescriptor.Exports::source)
                .containsExactlyInAnyOrder("io.llmlimiter.client", "io.llmlimiter.client.retry", "io.llmlimiter.client.http");
        assertThat(classes.resolve("io/llmlimiter/client/internal")).isDirectory();
        assertThat(module.opens()).isEmpty();
    }
}
