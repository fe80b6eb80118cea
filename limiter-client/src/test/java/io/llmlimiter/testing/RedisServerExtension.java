package io.llmlimiter.testing;

import java.lang.reflect.AnnotatedElement;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * JUnit 5 extension that starts one {@link RedisProcess} per test class before its tests and stops
 * it after them, and injects it into parameters of type {@link RedisProcess} of constructors,
 * lifecycle methods and test methods.
 *
 * <p>Register it with {@link WithRedis @WithRedis} (optionally with {@code args}), with
 * {@code @ExtendWith(RedisServerExtension.class)}, or programmatically as a static
 * {@code @RegisterExtension} field built with {@link #RedisServerExtension(String...)}. Each
 * {@code @Nested} class gets a server of its own; code declared in an enclosing class (its
 * constructor, its {@code @BeforeEach}) receives the enclosing class's server.
 *
 * <p>With {@code @TestInstance(PER_CLASS)} the server is started lazily when the constructor needs
 * it, before {@code beforeAll}. This class is thread-safe.
 */
public final class RedisServerExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(RedisServerExtension.class);

    private final List<String> args;

    /** Creates the extension that takes its arguments from the nearest {@link WithRedis}, if any. */
    public RedisServerExtension() {
        this.args = null;
    }

    /**
     * Creates the extension with fixed server arguments, for {@code @RegisterExtension}; these win
     * over any {@link WithRedis#args()}.
     *
     * @param extraArgs extra {@code redis-server} arguments, as for {@link RedisProcess#start(String...)}
     */
    public RedisServerExtension(String... extraArgs) {
        this.args = List.of(extraArgs);
    }

    /**
     * Starts the server of the class being entered, unless a constructor already made it start.
     *
     * @param context the class-level context
     */
    @Override
    public void beforeAll(ExtensionContext context) {
        serverOf(context);
    }

    /**
     * Stops the server of the class being left and deletes its files.
     *
     * @param context the class-level context
     */
    @Override
    public void afterAll(ExtensionContext context) {
        RedisProcess redis = context.getStore(NAMESPACE).remove(key(context), RedisProcess.class);
        if (redis != null) {
            redis.close();
        }
    }

    /**
     * Accepts parameters declared as {@link RedisProcess}.
     *
     * @param parameterContext the parameter
     * @param extensionContext the current context
     * @return true for {@link RedisProcess} parameters
     */
    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == RedisProcess.class;
    }

    /**
     * Returns the server of the class that declares the constructor or method being called.
     *
     * @param parameterContext the parameter
     * @param extensionContext the current context
     * @return the server, started if needed
     */
    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> declaring = parameterContext.getDeclaringExecutable().getDeclaringClass();
        return serverOf(classContextFor(extensionContext, declaring));
    }

    private RedisProcess serverOf(ExtensionContext classContext) {
        Class<?> testClass = classContext.getRequiredTestClass();
        // The store closes AutoCloseable values when the class context ends, as a backstop to afterAll.
        return classContext.getStore(NAMESPACE).getOrComputeIfAbsent(
                key(classContext), k -> RedisProcess.start(argsFor(testClass)), RedisProcess.class);
    }

    private String[] argsFor(Class<?> testClass) {
        if (args != null) {
            return args.toArray(String[]::new);
        }
        for (Class<?> c = testClass; c != null; c = c.getEnclosingClass()) {
            Optional<WithRedis> annotation = AnnotationSupport.findAnnotation(c, WithRedis.class);
            if (annotation.isPresent()) {
                return annotation.get().args();
            }
        }
        return new String[0];
    }

    /**
     * Finds the nearest class-level context whose class declares (or inherits) the executable, so an
     * enclosing class's constructor gets the enclosing server even while a nested test runs.
     */
    private static ExtensionContext classContextFor(ExtensionContext context, Class<?> declaring) {
        ExtensionContext nearestClassContext = null;
        for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
            Optional<AnnotatedElement> element = c.get().getElement();
            if (element.isPresent() && element.get() instanceof Class<?> k) {
                if (declaring.isAssignableFrom(k)) {
                    return c.get();
                }
                if (nearestClassContext == null) {
                    nearestClassContext = c.get();
                }
            }
        }
        if (nearestClassContext == null) {
            throw new ParameterResolutionException("No test class context found for " + declaring.getName());
        }
        return nearestClassContext;
    }

    private static String key(ExtensionContext classContext) {
        // Keyed by unique id because child stores fall back to their parents' values.
        return "redis@" + classContext.getUniqueId();
    }
}
