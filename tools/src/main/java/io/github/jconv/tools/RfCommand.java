package io.github.jconv.tools;

import io.github.jconv.analysis.ReceptiveField;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** Receptive field, jump and start of every layer of a stack. */
@Command(name = "rf", mixinStandardHelpOptions = true,
        description = {"Receptive field, jump and start of every layer of a stack.",
                "Along one axis, in input pixels; start is the centre of the first output's receptive field",
                "(the first input pixel spans 0..1)."})
final class RfCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STACK",
            description = "layers such as conv3,conv3,pool2s2,conv3d2,tconv4s2p1 (s stride, p padding, d dilation, xN repeat), or a file of them")
    String stack;

    @Override
    public Integer call() {
        List<ReceptiveField.Layer> layers = LayerStack.parseSpecOrFile(stack);
        List<ReceptiveField.Row> rows = ReceptiveField.compute(layers);
        Text.Table t = new Text.Table("#", "layer", "kernel", "eff", "stride", "pad", "dil", "RF", "jump", "start").left(1);
        t.row(0, "input", "", "", "", "", "", 1, 1, Text.num(0.5));
        int i = 1;
        for (ReceptiveField.Row r : rows) {
            ReceptiveField.Layer l = r.layer();
            t.row(i++, l.name(), l.kernel(), l.effectiveKernel(), l.stride(), l.padding(), l.dilation(),
                    Text.num(r.receptiveField()), Text.num(r.jump()), Text.num(r.start()));
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(t.render());
        ReceptiveField.Row last = rows.get(rows.size() - 1);
        out.println("Each output of the stack sees " + Text.num(last.receptiveField()) + "x" + Text.num(last.receptiveField())
                + " input pixels (2D); neighbouring outputs are " + Text.num(last.jump()) + " input pixel(s) apart.");
        out.flush();
        return 0;
    }
}
