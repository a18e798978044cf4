package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Role;
import jcuda.driver.CUdeviceptr;
import org.bytedeco.javacpp.Pointer;

/** Where each role's data starts for a cuDNN call: the call's buffers, or the compact scratch tensors of a split part. */
record CudnnBases(java.util.Map<Role, CUdeviceptr> ptrs, java.util.Map<Role, Long> addresses) {
    static CudnnBases of(ConvArgs args) {
        java.util.Map<Role, CUdeviceptr> p = new java.util.EnumMap<>(Role.class);
        java.util.Map<Role, Long> a = new java.util.EnumMap<>(Role.class);
        for (java.util.Map.Entry<Role, io.github.jconv.DeviceBuffer> e : args.asMap().entrySet()) {
            CudaBuffer b = (CudaBuffer) e.getValue();
            p.put(e.getKey(), b.ptr);
            a.put(e.getKey(), b.address);
        }
        return new CudnnBases(p, a);
    }

    static CudnnBases of(java.util.Map<Role, CUdeviceptr> ptrs) {
        java.util.Map<Role, Long> a = new java.util.EnumMap<>(Role.class);
        ptrs.forEach((r, p) -> a.put(r, DeviceAddress.of(p)));
        return new CudnnBases(ptrs, a);
    }

    CUdeviceptr ptr(Role r) {
        CUdeviceptr p = ptrs.get(r);
        if (p == null) throw new IllegalStateException("no " + r.label() + " buffer bound for this cuDNN call");
        return p;
    }

    long address(Role r) {
        ptr(r);
        return addresses.get(r);
    }

    /** The device address of {@code role}'s data for batch items from {@code n0} of a slice shaped like {@code part}. */
    static long address(CudnnBases bases, Role role, ConvSpec part, int n0, DType dtype) {
        boolean perBatch = role != Role.W && role != Role.DW && role != Role.B && role != Role.DB;
        long perItem = perBatch ? role.shapeFor(part).elementCount() / part.batch() : 0;
        return bases.address(role) + n0 * perItem * dtype.bytes();
    }

    static Pointer at(CudnnBases bases, Role role, ConvSpec part, int n0, DType dtype) {
        return DeviceAddress.javacpp(address(bases, role, part, n0, dtype));
    }

    static CUdeviceptr ptrAt(CudnnBases bases, Role role, ConvSpec part, int n0, DType dtype) {
        return bases.ptr(role).withByteOffset(address(bases, role, part, n0, dtype) - bases.address(role));
    }
}
