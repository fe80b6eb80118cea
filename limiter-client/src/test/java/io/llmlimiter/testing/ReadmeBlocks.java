package io.llmlimiter.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps README examples true: a test holds an example's code between {@code // README:begin} and
 * {@code // README:end} lines (so it compiles and runs), and compares it with the README's code
 * block under a heading. Stateless.
 */
public final class ReadmeBlocks {

    private ReadmeBlocks() {
    }

    /**
     * @param heading a README heading line, e.g. {@code ### With LangChain4j}
     * @param language the fence's language, e.g. {@code java}
     * @param index which block of that language after the heading (0 for the first), before the next heading
     * @return the block's text, lines without their common indentation
     */
    public static String readme(String heading, String language, int index) {
        List<String> lines = lines(readmePath());
        int start = lines.indexOf(heading);
        if (start < 0) {
            throw new IllegalArgumentException("no heading '" + heading + "' in the README");
        }
        int seen = 0;
        for (int i = start + 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("#")) {
                break;
            }
            if (line.equals("```" + language)) {
                List<String> block = new ArrayList<>();
                for (int j = i + 1; j < lines.size() && !lines.get(j).equals("```"); j++) {
                    block.add(lines.get(j));
                }
                if (seen++ == index) {
                    return dedent(block);
                }
            }
        }
        throw new IllegalArgumentException("no " + language + " block " + index + " under '" + heading + "'");
    }

    /**
     * @param source a source file, relative to the module
     * @return the lines between {@code // README:begin} and {@code // README:end}, without their common indentation
     */
    public static String marked(Path source) {
        List<String> lines = lines(source);
        List<String> block = new ArrayList<>();
        boolean in = false;
        for (String line : lines) {
            if (line.trim().equals("// README:end")) {
                return dedent(block);
            }
            if (in) {
                block.add(line);
            }
            if (line.trim().equals("// README:begin")) {
                in = true;
            }
        }
        throw new IllegalArgumentException("no README:begin/README:end lines in " + source);
    }

    private static Path readmePath() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path readme = dir.resolve("README.md");
            if (Files.exists(readme) && Files.exists(dir.resolve("pom.xml")) && Files.exists(dir.resolve("redis-scripts"))) {
                return readme;
            }
        }
        throw new IllegalStateException("the project's README.md was not found above " + Path.of("").toAbsolutePath());
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String dedent(List<String> block) {
        int indent = Integer.MAX_VALUE;
        for (String line : block) {
            if (!line.isBlank()) {
                indent = Math.min(indent, line.length() - line.stripLeading().length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String line : block) {
            b.append(line.isBlank() ? "" : line.substring(indent).stripTrailing()).append('\n');
        }
        return b.toString().strip();
    }
}
