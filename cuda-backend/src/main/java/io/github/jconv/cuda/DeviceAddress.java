package io.github.jconv.cuda;

import jcuda.NativePointerObject;

import java.lang.reflect.Field;

/**
 * Where JCuda and JavaCPP meet: a JCuda handle or device pointer as a raw address, and a raw
 * address as a JavaCPP pointer for cuDNN. JCuda keeps the address in the private field
 * {@code NativePointerObject.nativePointer} (plus {@code Pointer.byteOffset}) and exposes no getter,
 * so it is read by reflection; this works on the class path (JCuda's packages are then open to us).
 * Risk: a JCuda release that renames these fields breaks this class; a test here checks both fields
 * against JCuda's own toString, and the GPU run checks the address against cuPointerGetAttribute.
 */
final class DeviceAddress {
    private static final Field NATIVE_POINTER;
    private static final Field BYTE_OFFSET;

    static {
        try {
            NATIVE_POINTER = NativePointerObject.class.getDeclaredField("nativePointer");
            NATIVE_POINTER.setAccessible(true);
            BYTE_OFFSET = jcuda.Pointer.class.getDeclaredField("byteOffset");
            BYTE_OFFSET.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("JCuda " + NativePointerObject.class.getPackage().getImplementationVersion()
                    + " does not have the fields jconv reads device addresses from (NativePointerObject.nativePointer, "
                    + "Pointer.byteOffset); use JCuda 12.6.0 on the class path", e);
        }
    }

    private DeviceAddress() {
    }

    /** The address a JCuda object points at: native pointer plus byte offset for pointers. */
    static long of(NativePointerObject p) {
        try {
            long a = NATIVE_POINTER.getLong(p);
            if (p instanceof jcuda.Pointer) a += BYTE_OFFSET.getLong(p);
            return a;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read JCuda's native pointer: " + e, e);
        }
    }

    /** A JCuda device pointer at a raw {@code address} (memory the caller allocated elsewhere, e.g. with JavaCPP). */
    static jcuda.driver.CUdeviceptr deviceptr(long address) {
        jcuda.driver.CUdeviceptr p = new jcuda.driver.CUdeviceptr();
        try {
            NATIVE_POINTER.setLong(p, address);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot set JCuda's native pointer: " + e, e);
        }
        return p;
    }

    /** A JavaCPP pointer at {@code address} (device memory or a CUDA handle); owns nothing. */
    static org.bytedeco.javacpp.Pointer javacpp(long address) {
        return new Raw(address);
    }

    /** JavaCPP keeps the address in a protected field: a subclass is the supported way to set it. */
    private static final class Raw extends org.bytedeco.javacpp.Pointer {
        Raw(long address) {
            super((org.bytedeco.javacpp.Pointer) null);
            this.address = address;
        }
    }
}
