package io.github.jconv.cuda;

import io.github.jconv.DType;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/** The alpha and beta values of cuDNN's calls, host memory kept for the session: FP64 tensors take doubles, the others floats. */
final class CudnnScalars implements AutoCloseable {
    private final FloatPointer oneF = new FloatPointer(1f);
    private final FloatPointer zeroF = new FloatPointer(0f);
    private final DoublePointer oneD = new DoublePointer(1d);
    private final DoublePointer zeroD = new DoublePointer(0d);

    Pointer one(DType dtype) {
        return dtype == DType.FP64 ? oneD : oneF;
    }

    Pointer zero(DType dtype) {
        return dtype == DType.FP64 ? zeroD : zeroF;
    }

    @Override
    public void close() {
        oneF.close();
        zeroF.close();
        oneD.close();
        zeroD.close();
    }
}
