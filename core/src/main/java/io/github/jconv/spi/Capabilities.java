package io.github.jconv.spi;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;

import java.util.ArrayList;
import java.util.List;

/**
 * The operation × dims × dtype matrix of a session, derived from {@link ConvBackend#supports} on a
 * small representative problem per cell. A cell is supported only if every pass of its family is.
 */
public record Capabilities(List<Cell> cells) {
    public Capabilities {
        cells = List.copyOf(cells);
    }

    /** One cell of the matrix. */
    public record Cell(ConvType type, int rank, DType dtype, Support support) {
    }

    public Support lookup(ConvType type, int rank, DType dtype) {
        for (Cell c : cells) {
            if (c.type == type && c.rank == rank && c.dtype == dtype) return c.support;
        }
        return Support.no(type + " " + rank + "D is not an operation jconv defines");
    }

    /** A tiny problem of each family and rank, also used by the probe's known-answer checks. */
    public static ConvSpec representative(ConvType type, int rank) {
        int[] in = new int[rank];
        java.util.Arrays.fill(in, 5);
        ConvSpec.Builder b = ConvSpec.builder(type).batch(2).channels(4, 4).groups(2).input(in).kernel(3).padding(1);
        if (type == ConvType.TRANSPOSED) b.stride(2).outputPadding(1);
        if (type == ConvType.DEFORMABLE) b.groups(1).offsetGroups(2).mask(true);
        return b.build();
    }

    public static Capabilities derive(ConvBackend backend) {
        List<Cell> out = new ArrayList<>();
        for (ConvType type : ConvType.values()) {
            for (int rank = 1; rank <= 3; rank++) {
                if (type == ConvType.DEFORMABLE && rank != 2) continue;
                ConvSpec spec = representative(type, rank);
                for (DType dt : DType.values()) {
                    Support s = Support.yes();
                    for (Pass p : Pass.values()) {
                        if (p == Pass.BACKWARD_OFFSET_MASK && type != ConvType.DEFORMABLE) continue;
                        Support ps = backend.supports(spec, p, dt);
                        if (!ps.supported()) {
                            s = ps;
                            break;
                        }
                    }
                    out.add(new Cell(type, rank, dt, s));
                }
            }
        }
        return new Capabilities(out);
    }
}
