package io.llmlimiter.client;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Who a call is for (a team, a job, an end user) and how urgent it is. On a target that shares
 * fairly (a config with {@link FairShare fair_share}), the budget is shared among tenants by their
 * weights, and among priority classes by their order; elsewhere the tenant only labels the call.
 * This class is immutable and thread-safe.
 *
 * <pre>{@code
 * limiter.execute(target, Tenant.of("search", Priority.INTERACTIVE), Estimate.of(1200, 500), ctx -> callTheModel());
 * }</pre>
 *
 * @param name the tenant's name: 1 to 64 characters of letters, digits and {@code . _ - : @}
 * @param priority the call's priority class
 */
public record Tenant(String name, Priority priority) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:@-]{1,64}");

    /** The name of the tenant of calls that name none. */
    public static final String DEFAULT_NAME = "default";

    /** The tenant and class of calls that name none. */
    public static final Tenant DEFAULT = new Tenant(DEFAULT_NAME, Priority.INTERACTIVE);


    /** Validates the tenant. */
    public Tenant {
        Objects.requireNonNull(priority, "priority must not be null");
        checkName(name);
    }

    /**
     * @param name the tenant's name
     * @return the tenant, with {@link Priority#INTERACTIVE} calls
     */
    public static Tenant of(String name) {
        return new Tenant(name, Priority.INTERACTIVE);
    }

    /**
     * @param name the tenant's name
     * @param priority the calls' class
     * @return the tenant
     */
    public static Tenant of(String name, Priority priority) {
        return new Tenant(name, priority);
    }

    /**
     * @param p another class
     * @return this tenant with calls of that class
     */
    public Tenant withPriority(Priority p) {
        return new Tenant(name, p);
    }

    /**
     * @param name a tenant name
     * @return the name
     * @throws IllegalArgumentException when it is not 1 to 64 characters of letters, digits and {@code . _ - : @}
     */
    public static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("tenant must be 1 to 64 characters of letters, digits and . _ - : @, got '"
                    + name + "'");
        }
        return name;
    }

    @Override
    public String toString() {
        return name + "/" + priority.label();
    }
}
