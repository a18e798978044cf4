package io.github.jconv.spi;

import io.github.jconv.DeviceBuffer;
import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;

import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Set;

/**
 * A session bound to one device: buffers, transfers, the operations. Obtain one through
 * {@link io.github.jconv.ConvEngine}, which validates every call before it reaches {@link #execute}.
 * A session must be safe to use from several threads at once (every backend is; the engine relies on it).
 */
public interface ConvBackend extends AutoCloseable {
    /** Provider name, e.g. "cpu". */
    String name();

    DeviceInfo device();

    DeviceBuffer allocate(DType dtype, Shape shape);

    /**
     * Copies bytes into {@code dst} from element {@code dstOffset} on: {@code src} from its position to its limit
     * (whole values of dst's dtype, in native byte order, as {@link HostValues} writes them), as they are, with no
     * conversion; the position of {@code src} ends at its limit. Checks that {@code dst} is an open buffer of this
     * session (also when {@code src} is empty) and that the range fits ({@link HostValues#checkBytes}).
     */
    void write(DeviceBuffer dst, long dstOffset, ByteBuffer src);

    /**
     * Copies bytes of {@code src} from element {@code srcOffset} on into {@code dst}, from its position to its limit
     * (whole values, native byte order); the position of {@code dst} ends at its limit. Same checks as {@link #write}.
     */
    void read(DeviceBuffer src, long srcOffset, ByteBuffer dst);

    /**
     * Copies {@code length} values from {@code src[srcOffset…]} into {@code dst} at element {@code dstOffset},
     * converted to dst's dtype on the host ({@link HostValues}) and written with {@link #write}.
     */
    default void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        HostValues.upload(this, dst, dstOffset, src, srcOffset, length);
    }

    default void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        HostValues.upload(this, dst, dstOffset, src, srcOffset, length);
    }

    /** Reads {@code length} values of {@code src} from element {@code srcOffset} with {@link #read}, converted on the host. */
    default void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        HostValues.download(this, src, srcOffset, dst, dstOffset, length);
    }

    default void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        HostValues.download(this, src, srcOffset, dst, dstOffset, length);
    }

    /**
     * Whether this session can run {@code pass} of {@code spec} in {@code dtype}. The statement of
     * support lives beside the implementation; {@link #capabilities()} derives from it.
     */
    Support supports(ConvSpec spec, Pass pass, DType dtype);

    /**
     * Runs one pass. Called only after the engine checked shapes, dtypes, ownership and
     * {@link #supports}; outputs are overwritten.
     */
    void execute(Pass pass, ConvSpec spec, ConvArgs args);

    /**
     * Runs several passes of one spec on one set of buffers, in {@link Pass} order (the forward first), as a
     * training step's backward does. Called only after the engine checked every pass as for {@link #execute},
     * and that no output of the call is a buffer any pass of it reads or writes under another role. The
     * default runs the passes one by one; a backend may share work between them (the CPU backend computes the
     * deformable data gradient's and offset/mask gradients' common column gradient Wᵀ·dY once). Every output
     * must equal what the passes give one by one, within the op's tolerance; {@link #lastAlgorithm} then names
     * what ran.
     */
    default void executeAll(Set<Pass> passes, ConvSpec spec, ConvArgs args) {
        for (Pass p : EnumSet.copyOf(passes)) execute(p, spec, args);
    }

    /** The algorithm the last {@link #execute} on this thread ran, e.g. "im2col+gemm". */
    String lastAlgorithm();

    /** Live buffer and byte counters of this session (lifecycle tests, leak reports). */
    BufferTracker tracker();

    /** The capability matrix, derived from {@link #supports}. */
    default Capabilities capabilities() {
        return Capabilities.derive(this);
    }

    /** Whether {@code buffer} is memory of this session (decorators delegate to what they wrap). */
    default boolean owns(DeviceBuffer buffer) {
        return buffer.owner() == this;
    }

    /**
     * Optional plain SGD on the device: {@code param ← param − lr·grad} element by element, with the
     * product and the difference each rounded in the buffers' type (lr rounded to float first unless
     * FP64), as the layers' host step computes it. Queued in order with this session's other work.
     * Returns false, having done nothing, when this backend has no device step for these buffers; the
     * layer then steps on the host. The caller passes two buffers of this session, of one dtype and
     * one element count.
     */
    default boolean sgdStep(DeviceBuffer param, DeviceBuffer grad, double learningRate) {
        return false;
    }

    /**
     * Wraps memory the caller owns as a buffer of this session, without a copy where the backend
     * can (see each backend). Checked: the memory's kind, its size (at least the bytes of
     * {@code shape} in {@code dtype}), its context. Closing the buffer never frees the memory.
     */
    default DeviceBuffer wrap(DType dtype, Shape shape, ExternalMemory memory) {
        throw new UnsupportedOperationException("the " + name() + " backend does not wrap caller memory; upload the values instead");
    }

    /**
     * The native handle of a buffer of this session, for the caller's own kernels: cpu a
     * {@code java.nio.FloatBuffer} over its values, opencl a JOCL {@code cl_mem}, cuda a JCuda
     * {@code CUdeviceptr}. Valid until the buffer is closed.
     */
    default Object nativeHandle(DeviceBuffer buffer) {
        throw new UnsupportedOperationException("the " + name() + " backend exposes no native handles");
    }

    /** The raw device address of a buffer of this session (cuda), for bindings such as JavaCPP's NCCL presets. */
    default long nativeAddress(DeviceBuffer buffer) {
        throw new UnsupportedOperationException("the " + name() + " backend has no raw device addresses; use nativeHandle");
    }

    /**
     * The queue or stream jconv's work of this session runs on, in order (opencl a
     * {@code cl_command_queue}, cuda a {@code CUstream}); null on synchronous backends (cpu), where
     * every call has finished when it returns.
     */
    default Object nativeQueue() {
        return null;
    }

    /** The native context (opencl a {@code cl_context}, cuda a {@code CUcontext}); null on cpu. */
    default Object nativeContext() {
        return null;
    }

    /** This session's caching allocator, or null when it has none. */
    default CachingAllocator<?> allocator() {
        return null;
    }

    /** Blocks until queued work is done (a no-op on synchronous backends). */
    default void synchronize() {
    }

    @Override
    void close();
}
