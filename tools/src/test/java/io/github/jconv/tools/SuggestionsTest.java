package io.github.jconv.tools;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A refusal's "e.g." is a value that works: put it in place of the refused one and the command runs. */
class SuggestionsTest {
    private static final Pattern EG = Pattern.compile("e\\.g\\. (-[-\\w]+(?: [\\w.]+)?(?: -[-\\w]+ [\\w.]+)*)\\s*$");

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {
            "erf conv3 --backend cpu --channels 1 --size 30000",
            "erf conv3 --backend cpu --channels 1 --scale 100000",
            "erf conv3 --backend cpu --channels 5000",
            "erf conv3 --backend cpu --channels 1 --mass 1.5",
            "overlap -k 3 -s 50000",
            "overlap -k 100000 -s 100000 --input 2",
            "overlap -k 3 -s 2 --scale 100000",
            "demo --backend cpu --steps 2 --lr 1e30",
            "demo --backend cpu --steps 2 --size 100000",
            "flops conv3->3k3 --input 0"})
    void theSuggestedValueWorks(String line, @TempDir Path dir) {
        List<String> args = new ArrayList<>(Arrays.asList(line.split(" ")));
        if (!args.get(0).equals("demo") && !args.get(0).equals("flops")) args.addAll(List.of("-o", dir.resolve("x.png").toString()));
        ToolRun refused = ToolRun.of(args.toArray(new String[0]));
        assertEquals(2, refused.exit(), refused::toString);
        Matcher m = EG.matcher(refused.err().strip());
        assertTrue(m.find(), "no option suggested: " + refused);
        String[] eg = m.group(1).split(" ");
        // replace (or add) each suggested option's value
        for (int i = 0; i < eg.length; i += 2) {
            int at = args.indexOf(eg[i]);
            if (at >= 0) args.set(at + 1, eg[i + 1]);
            else args.addAll(List.of(eg[i], eg[i + 1]));
        }
        ToolRun again = ToolRun.of(args.toArray(new String[0]));
        assertEquals(0, again.exit(), () -> "the suggestion " + m.group(1) + " of\n" + refused + "\ndid not work:\n" + again);
    }
}
