package io.llmlimiter.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives the annotated test class its own throwaway Redis server: shorthand for
 * {@code @ExtendWith(RedisServerExtension.class)}. Declare a {@link RedisProcess} parameter in the
 * constructor, a {@code @BeforeAll}/{@code @BeforeEach} method or a test method to receive it.
 *
 * <p>{@code @Nested} classes inherit the extension and get a server of their own, started with the
 * {@link #args()} of the nearest {@code @WithRedis} on them or an enclosing class.
 */
@Documented
@Inherited
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RedisServerExtension.class)
public @interface WithRedis {

    /**
     * Extra {@code redis-server} arguments, one token per element, for example
     * {@code {"--requirepass", "secret"}}; see {@link RedisProcess#start(String...)}.
     *
     * @return the arguments, none by default
     */
    String[] args() default {};
}
