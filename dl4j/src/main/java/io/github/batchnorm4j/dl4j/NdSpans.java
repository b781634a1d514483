package io.github.batchnorm4j.dl4j;

import io.github.batchnorm4j.FloatSpan;
import java.lang.foreign.MemorySegment;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** ND4J arrays as batchnorm4j tensors: their own native memory where the layout allows. */
final class NdSpans {
    private NdSpans() {}

    /**
     * Whether the array's elements lie in C order, one after the other, in its buffer: then the
     * buffer from the array's offset is the tensor, as batchnorm4j reads it.
     */
    static boolean packed(INDArray a) {
        if (a.dataType() != DataType.FLOAT) {
            return false;
        }
        long[] shape = a.shape();
        long[] stride = a.stride();
        long step = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            // the stride of a dimension of size 1 is never used, and ND4J leaves it as it likes
            if (shape[d] != 1 && stride[d] != step) {
                return false;
            }
            step *= shape[d];
        }
        return true;
    }

    /** The array's memory, without a copy. The array must be {@link #packed}. */
    static FloatSpan view(INDArray a) {
        // asNio() covers the buffer's whole allocation, where element 0 of a view lies at its offset
        return FloatSpan.of(MemorySegment.ofBuffer(a.data().asNio())).from(a.offset());
    }

    /** A tensor to read: the array itself when packed, else a packed copy. */
    static FloatSpan read(INDArray a) {
        return view(packed(a) ? a : a.dup('c'));
    }

    /** A tensor to write: the array must be packed (the helper allocates its outputs so). */
    static FloatSpan write(INDArray a) {
        if (!packed(a)) {
            throw new IllegalArgumentException("output array must be float, C order and densely packed, got "
                    + a.shapeInfoToString());
        }
        return view(a);
    }
}
