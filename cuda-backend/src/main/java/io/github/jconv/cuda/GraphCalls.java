package io.github.jconv.cuda;

import org.bytedeco.cuda.cudnn.cudnnBackendDescriptor_t;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;

/** cuDNN's backend (graph) API calls as {@link CudnnGraph} and its parts make them, each failure naming its call, target and status. */
final class GraphCalls {
    private GraphCalls() {
    }

    /** A call into cuDNN's backend API that failed while a graph was built: the call, its target and the status. */
    static final class BuildFailure extends RuntimeException {
        final int status;

        BuildFailure(String call, int status) {
            super(call + " returned " + CudaStatus.lookup(CudaStatus.Library.CUDNN, status).name() + " (" + status + ")");
            this.status = status;
        }
    }

    static cudnnBackendDescriptor_t create(int type, String what) {
        cudnnBackendDescriptor_t d = new cudnnBackendDescriptor_t();
        check(cudnnBackendCreateDescriptor(type, d), "cudnnBackendCreateDescriptor(" + what + ")");
        return d;
    }

    static cudnnBackendDescriptor_t own(List<cudnnBackendDescriptor_t> owned, cudnnBackendDescriptor_t d) {
        owned.add(d);
        return d;
    }

    static void set(cudnnBackendDescriptor_t d, String what, int attribute, String attributeName, int type, long count, Pointer values) {
        check(cudnnBackendSetAttribute(d, attribute, type, count, values), "cudnnBackendSetAttribute(" + what + ", " + attributeName + ")");
    }

    static void finish(cudnnBackendDescriptor_t d, String what) {
        check(cudnnBackendFinalize(d), "cudnnBackendFinalize(" + what + ")");
    }

    static long getLong(cudnnBackendDescriptor_t d, String what, int attribute, String attributeName) {
        LongPointer count = new LongPointer(1);
        LongPointer v = new LongPointer(1);
        check(cudnnBackendGetAttribute(d, attribute, CUDNN_TYPE_INT64, 1, count, v), "cudnnBackendGetAttribute(" + what + ", " + attributeName + ")");
        return v.get();
    }

    /** One int64 (a descriptor, a handle, a device address or a number). Not {@code new LongPointer(v)}: that allocates v elements. */
    static LongPointer one(long v) {
        return new LongPointer(new long[]{v});
    }

    /** One int32 enum value. Not {@code new IntPointer(v)}: that allocates v elements. */
    static IntPointer oneInt(int v) {
        return new IntPointer(new int[]{v});
    }

    static void check(int status, String call) {
        if (status != 0) throw new BuildFailure(call, status);
    }

    static void destroyQuietly(cudnnBackendDescriptor_t d) {
        cudnnBackendDestroyDescriptor(d);
    }
}
