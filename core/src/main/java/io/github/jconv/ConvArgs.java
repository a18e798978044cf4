package io.github.jconv;


import java.util.EnumMap;
import java.util.Map;

/** The buffers of one pass, by role. Immutable; build with {@link #builder()} or {@link #of}. */
public final class ConvArgs {
    private final Map<Role, DeviceBuffer> buffers;

    private ConvArgs(Map<Role, DeviceBuffer> buffers) {
        this.buffers = buffers;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Pairs of (Role, DeviceBuffer). */
    public static ConvArgs of(Object... roleBufferPairs) {
        if (roleBufferPairs == null) {
            throw new IllegalArgumentException("roleBufferPairs = null: give (Role, DeviceBuffer) pairs, e.g. of(Role.X, x, Role.W, w), "
                    + "or of() for none");
        }
        Builder b = builder();
        if (roleBufferPairs.length % 2 != 0) {
            throw new IllegalArgumentException("roleBufferPairs has " + roleBufferPairs.length
                    + " elements: give (Role, DeviceBuffer) pairs, e.g. of(Role.X, x, Role.W, w)");
        }
        for (int i = 0; i < roleBufferPairs.length; i += 2) {
            if (!(roleBufferPairs[i] instanceof Role r)) {
                throw new IllegalArgumentException("roleBufferPairs[" + i + "] = " + roleBufferPairs[i] + ": expected a Role");
            }
            Object v = roleBufferPairs[i + 1];
            if (v != null && !(v instanceof DeviceBuffer)) {
                throw new IllegalArgumentException("roleBufferPairs[" + (i + 1) + "] = " + v + ": expected a DeviceBuffer");
            }
            b.put(r, (DeviceBuffer) v);
        }
        return b.build();
    }

    /** The buffer for {@code role}, or null. */
    public DeviceBuffer get(Role role) {
        return buffers.get(role);
    }

    public boolean has(Role role) {
        return buffers.containsKey(role);
    }

    public Map<Role, DeviceBuffer> asMap() {
        return java.util.Collections.unmodifiableMap(buffers);
    }

    /** Collects role → buffer; null buffers are ignored (e.g. no bias). */
    public static final class Builder {
        private final EnumMap<Role, DeviceBuffer> m = new EnumMap<>(Role.class);

        public Builder put(Role role, DeviceBuffer buffer) {
            if (role == null) throw new IllegalArgumentException("role = null: name the role, e.g. Role.X");
            if (buffer != null) m.put(role, buffer);
            return this;
        }

        public Builder x(DeviceBuffer b) { return put(Role.X, b); }
        public Builder w(DeviceBuffer b) { return put(Role.W, b); }
        public Builder b(DeviceBuffer b) { return put(Role.B, b); }
        public Builder y(DeviceBuffer b) { return put(Role.Y, b); }
        public Builder offset(DeviceBuffer b) { return put(Role.OFFSET, b); }
        public Builder mask(DeviceBuffer b) { return put(Role.MASK, b); }
        public Builder dx(DeviceBuffer b) { return put(Role.DX, b); }
        public Builder dw(DeviceBuffer b) { return put(Role.DW, b); }
        public Builder db(DeviceBuffer b) { return put(Role.DB, b); }
        public Builder dy(DeviceBuffer b) { return put(Role.DY, b); }
        public Builder dOffset(DeviceBuffer b) { return put(Role.DOFFSET, b); }
        public Builder dMask(DeviceBuffer b) { return put(Role.DMASK, b); }

        public ConvArgs build() {
            return new ConvArgs(new EnumMap<>(m));
        }
    }
}
