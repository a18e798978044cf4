package io.github.jconv.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The options that several commands share are picocli mixins ({@link BackendOption}, {@link PngOutput}): one
 * definition, mixed into each command, with each command's own default where it has one.
 */
class MixinOptionsTest {
    private static OptionSpec option(String command, String name) {
        CommandLine sub = new CommandLine(new Main()).getSubcommands().get(command);
        assertNotNull(sub, command);
        OptionSpec o = sub.getCommandSpec().findOption(name);
        assertNotNull(o, command + " has no " + name);
        return o;
    }

    @Test
    void demoAndErfTakeTheBackendFromOneMixin() {
        OptionSpec demo = option("demo", "--backend"), erf = option("erf", "--backend");
        assertTrue(demo.userObject() instanceof java.lang.reflect.Field f && f.getDeclaringClass() == BackendOption.class, demo::toString);
        assertSame(((java.lang.reflect.Field) demo.userObject()).getDeclaringClass(), ((java.lang.reflect.Field) erf.userObject()).getDeclaringClass());
        assertEquals(java.util.List.of("-b", "--backend"), java.util.List.of(demo.names()));
        // the help line, as both commands printed it before the mixin
        String line = "  -b, --backend=<backend>   cuda, opencl or cpu (default: the best available)";
        assertTrue(ToolRun.of("demo", "--help").out().contains(line));
        assertTrue(ToolRun.of("erf", "--help").out().contains(line));
    }

    @Test
    void eachCommandKeepsItsOwnPngDefaultInHelpAndInTheModel() {
        assertEquals("erf.png", option("erf", "--png").getValue().toString());
        assertEquals("overlap.png", option("overlap", "--png").getValue().toString());
        assertTrue(ToolRun.of("erf", "--help").out().contains("  -o, --png=<png>           PNG to write (default erf.png)"));
        assertTrue(ToolRun.of("overlap", "--help").out().contains("  -o, --png=<png>           PNG to write (default overlap.png)"));
    }

    @Test
    void aFolderGivenAsThePngIsRefusedBeforeAnyWorkWithTheCommandsOwnExample(@TempDir Path dir) throws Exception {
        Path folder = Files.createDirectories(dir.resolve("a-folder"));
        ToolRun o = ToolRun.of("overlap", "-k", "4", "-s", "2", "-o", folder.toString()).assertRefused("--png");
        assertTrue(o.err().contains("is a folder") && o.err().contains("e.g. --png overlap.png"), o::toString);
        ToolRun e = ToolRun.of("erf", "conv3", "--backend", "cpu", "--png", folder.toString()).assertRefused("--png");
        assertTrue(e.err().contains("is a folder") && e.err().contains("e.g. --png erf.png"), e::toString);
        assertTrue(e.out().isEmpty(), () -> "nothing ran: " + e);
    }

    @Test
    void anUnknownBackendIsRefusedTheSameWayByBothCommands(@TempDir Path dir) {
        ToolRun demo = ToolRun.of("demo", "-b", "tpu", "--steps", "1").assertRefused("tpu");
        ToolRun erf = ToolRun.of("erf", "conv3", "-b", "tpu", "-o", dir.resolve("erf.png").toString()).assertRefused("tpu");
        // each line starts with its command's name ("demo: ", "erf: "); the rest is the one message of Backends.open
        assertTrue(demo.err().startsWith("demo: ") && erf.err().startsWith("erf: "), () -> demo + "\n" + erf);
        assertEquals(demo.err().substring("demo: ".length()), erf.err().substring("erf: ".length()));
    }
}
