package io.github.jconv.cuda;

import org.bytedeco.javacpp.Pointer;

/** The device pointers of cuDNN's xc, w and yc for one call. */
record CudnnOperands(Pointer x, Pointer w, Pointer y) {
}
