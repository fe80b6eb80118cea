package io.llmlimiter.client.retry;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads accessor methods by name so that SDK exceptions can be understood without a compile-time
 * dependency on those SDKs.
 *
 * <p>Thread-safe: method lookups are cached per class in a {@link ClassValue} of concurrent maps,
 * and the Jackson mapper is only used for serialisation after construction.
 */
final class ReflectiveAccess {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final ClassValue<Map<String, Optional<Method>>> METHODS = new ClassValue<>() {
        @Override
        protected Map<String, Optional<Method>> computeValue(Class<?> type) {
            return new ConcurrentHashMap<>();
        }
    };

    private ReflectiveAccess() {
    }

    /** Invokes a public method by name; empty if absent, inaccessible, null-returning or throwing. */
    static Optional<Object> call(Object target, String name, Class<?>[] types, Object... args) {
        if (target == null) {
            return Optional.empty();
        }
        Optional<Method> method = METHODS.get(target.getClass())
                .computeIfAbsent(name + Arrays.toString(types), k -> lookup(target.getClass(), name, types));
        if (method.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(method.get().invoke(target, args));
        } catch (IllegalAccessException | InvocationTargetException | RuntimeException | LinkageError e) {
            // Accessors of foreign exceptions must never break failure handling.
            return Optional.empty();
        }
    }

    /** Invokes a public no-argument method by name. */
    static Optional<Object> call(Object target, String name) {
        return call(target, name, new Class<?>[0]);
    }

    /** An int-valued accessor, accepting {@code int} or {@code Integer} return types only. */
    static OptionalInt intValue(Object target, String name) {
        Optional<Object> value = call(target, name);
        return value.isPresent() && value.get() instanceof Integer
                ? OptionalInt.of((Integer) value.get()) : OptionalInt.empty();
    }

    /** Converts a header object of a known shape into a multimap; unknown shapes give an empty map. */
    static Map<String, List<String>> headers(Object headers) {
        Map<String, List<String>> result = new LinkedHashMap<>();
        if (headers instanceof HttpHeaders) {
            return ((HttpHeaders) headers).map();
        }
        if (headers instanceof Map) {
            ((Map<?, ?>) headers).forEach((k, v) -> {
                if (k != null) {
                    result.put(k.toString(), strings(v));
                }
            });
            return result;
        }
        // OpenAI/Anthropic SDK Headers and okhttp3.Headers: names() plus values(String).
        Optional<Object> names = call(headers, "names");
        if (names.isPresent() && names.get() instanceof Collection) {
            for (Object name : (Collection<?>) names.get()) {
                if (name != null) {
                    call(headers, "values", new Class<?>[] {String.class}, name.toString())
                            .ifPresent(v -> result.put(name.toString(), strings(v)));
                }
            }
        }
        return result;
    }

    /** Renders a body object as text: strings, bytes, Optionals and SDK JSON values are understood. */
    static String bodyText(Object body) {
        if (body == null) {
            return null;
        }
        if (body instanceof Optional) {
            return bodyText(((Optional<?>) body).orElse(null));
        }
        if (body instanceof String) {
            return (String) body;
        }
        if (body instanceof byte[]) {
            byte[] bytes = (byte[]) body;
            return new String(bytes, 0, Math.min(bytes.length, ProviderFailure.MAX_BODY_CHARS * 4),
                    StandardCharsets.UTF_8);
        }
        if (isSdkJsonValue(body.getClass())) {
            try {
                // SDK JsonValues are Jackson-annotated; serialising gives real JSON for the classifier.
                return JSON.writeValueAsString(body);
            } catch (Exception | LinkageError e) {
                return body.toString();
            }
        }
        return body.toString();
    }

    private static boolean isSdkJsonValue(Class<?> type) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            if (c.getSimpleName().equals("JsonValue") || c.getSimpleName().equals("JsonField")) {
                return true;
            }
        }
        return false;
    }

    private static List<String> strings(Object value) {
        List<String> out = new ArrayList<>();
        if (value instanceof Collection) {
            for (Object v : (Collection<?>) value) {
                if (v != null) {
                    out.add(v.toString());
                }
            }
        } else if (value != null) {
            out.add(value.toString());
        }
        return out;
    }

    private static Optional<Method> lookup(Class<?> type, String name, Class<?>[] types) {
        Method method;
        try {
            method = type.getMethod(name, types);
        } catch (NoSuchMethodException | SecurityException | LinkageError e) {
            return Optional.empty();
        }
        if (Modifier.isStatic(method.getModifiers()) || method.getReturnType() == void.class) {
            return Optional.empty();
        }
        if (Modifier.isPublic(method.getDeclaringClass().getModifiers())) {
            return Optional.of(method);
        }
        // A public method declared by a non-public class: prefer the same method on a public
        // supertype, otherwise ask for access (works on the class path).
        Optional<Method> onPublicSupertype = publicSupertypeMethod(type, name, types);
        if (onPublicSupertype.isPresent()) {
            return onPublicSupertype;
        }
        try {
            return method.trySetAccessible() ? Optional.of(method) : Optional.empty();
        } catch (SecurityException e) {
            return Optional.empty();
        }
    }

    private static Optional<Method> publicSupertypeMethod(Class<?> type, String name, Class<?>[] types) {
        List<Class<?>> supertypes = new ArrayList<>(Arrays.asList(type.getInterfaces()));
        for (Class<?> c = type.getSuperclass(); c != null; c = c.getSuperclass()) {
            supertypes.add(c);
            supertypes.addAll(Arrays.asList(c.getInterfaces()));
        }
        for (Class<?> candidate : supertypes) {
            if (Modifier.isPublic(candidate.getModifiers())) {
                try {
                    Method method = candidate.getMethod(name, types);
                    if (Modifier.isPublic(method.getDeclaringClass().getModifiers())) {
                        return Optional.of(method);
                    }
                } catch (NoSuchMethodException | SecurityException e) {
                    // Not declared here; keep looking.
                }
            }
        }
        return Optional.empty();
    }
}
