package io.github.jconv.cuda;

import org.bytedeco.cuda.cudnn.cudnnBackendDescriptor_t;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;

import java.util.Arrays;
import java.util.List;

import static io.github.jconv.cuda.GraphCalls.*;
import static org.bytedeco.cuda.global.cudnn.*;

/**
 * Building one operation graph of cuDNN's backend API from {@link GraphConv}'s attribute values: its three tensors, the
 * convolution, the convolution operation and the graph. Every descriptor made is added to the caller's list, which
 * destroys them.
 */
final class GraphOperation {
    private GraphOperation() {
    }

    /** The tensors, the convolution, the operation and the operation graph of {@code g} on {@code handle}; the graph descriptor. */
    static cudnnBackendDescriptor_t build(cudnnContext handle, GraphConv g, List<cudnnBackendDescriptor_t> owned) {
        cudnnBackendDescriptor_t[] t = new cudnnBackendDescriptor_t[3];
        List<GraphConv.Tensor> ts = g.tensors();
        for (int i = 0; i < 3; i++) {
            GraphConv.Tensor s = ts.get(i);
            String what = s.port() + " tensor " + Arrays.toString(s.dims());
            cudnnBackendDescriptor_t d = own(owned, create(CUDNN_BACKEND_TENSOR_DESCRIPTOR, what));
            set(d, what, CUDNN_ATTR_TENSOR_DATA_TYPE, "CUDNN_ATTR_TENSOR_DATA_TYPE", CUDNN_TYPE_DATA_TYPE, 1, oneInt(g.dataType()));
            set(d, what, CUDNN_ATTR_TENSOR_DIMENSIONS, "CUDNN_ATTR_TENSOR_DIMENSIONS", CUDNN_TYPE_INT64, s.dims().length, new LongPointer(s.dims()));
            set(d, what, CUDNN_ATTR_TENSOR_STRIDES, "CUDNN_ATTR_TENSOR_STRIDES " + Arrays.toString(s.strides()), CUDNN_TYPE_INT64,
                    s.strides().length, new LongPointer(s.strides()));
            set(d, what, CUDNN_ATTR_TENSOR_UNIQUE_ID, "CUDNN_ATTR_TENSOR_UNIQUE_ID", CUDNN_TYPE_INT64, 1, one(s.uid()));
            set(d, what, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, "CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT " + s.alignment(), CUDNN_TYPE_INT64, 1,
                    one(s.alignment()));
            finish(d, what);
            t[i] = d;
        }
        String cw = "convolution";
        cudnnBackendDescriptor_t conv = own(owned, create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, cw));
        int n = g.spatialDims();
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, "CUDNN_ATTR_CONVOLUTION_COMP_TYPE", CUDNN_TYPE_DATA_TYPE, 1, oneInt(g.computeType()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_CONV_MODE, "CUDNN_ATTR_CONVOLUTION_CONV_MODE", CUDNN_TYPE_CONVOLUTION_MODE, 1,
                oneInt(CUDNN_CROSS_CORRELATION));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, "CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS", CUDNN_TYPE_INT64, 1, one((long) n));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, "CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS", CUDNN_TYPE_INT64, n, new LongPointer(g.prePadding()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, "CUDNN_ATTR_CONVOLUTION_POST_PADDINGS", CUDNN_TYPE_INT64, n, new LongPointer(g.postPadding()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_DILATIONS, "CUDNN_ATTR_CONVOLUTION_DILATIONS", CUDNN_TYPE_INT64, n, new LongPointer(g.dilation()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, "CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES", CUDNN_TYPE_INT64, n, new LongPointer(g.stride()));
        finish(conv, cw);

        String ow = AlgoSelection.shortOp(g.op()) + " operation";
        cudnnBackendDescriptor_t op = own(owned, create(g.operationType(), ow));
        List<GraphConv.Tensor> order = g.tensors();
        for (int i = 0; i < 3; i++) {
            set(op, ow, order.get(i).attribute(), "the " + order.get(i).port() + " tensor", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                    one(t[i].address()));
        }
        set(op, ow, g.convDescAttribute(), "the convolution descriptor", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, one(conv.address()));
        if (g.doubleScalars()) {
            set(op, ow, g.alphaAttribute(), "alpha", CUDNN_TYPE_DOUBLE, 1, new DoublePointer(g.alpha()));
            set(op, ow, g.betaAttribute(), "beta", CUDNN_TYPE_DOUBLE, 1, new DoublePointer(g.beta()));
        } else {
            set(op, ow, g.alphaAttribute(), "alpha", CUDNN_TYPE_FLOAT, 1, new FloatPointer((float) g.alpha()));
            set(op, ow, g.betaAttribute(), "beta", CUDNN_TYPE_FLOAT, 1, new FloatPointer((float) g.beta()));
        }
        finish(op, ow);

        String gw = "operation graph";
        cudnnBackendDescriptor_t graph = own(owned, create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, gw));
        set(graph, gw, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, "CUDNN_ATTR_OPERATIONGRAPH_HANDLE", CUDNN_TYPE_HANDLE, 1, one(handle.address()));
        set(graph, gw, CUDNN_ATTR_OPERATIONGRAPH_OPS, "CUDNN_ATTR_OPERATIONGRAPH_OPS", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, one(op.address()));
        finish(graph, gw);
        return graph;
    }
}
