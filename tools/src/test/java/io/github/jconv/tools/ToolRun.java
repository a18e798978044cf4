package io.github.jconv.tools;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** One in-process run of the jconv command line with its output captured. */
record ToolRun(int exit, String out, String err) {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    static ToolRun of(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new ToolRun(exit, out.toString(), err.toString());
    }

    /** The first group of {@code regex} in the output; fails the test when absent. */
    String find(String regex) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(out);
        assertTrue(m.find(), () -> "no match for /" + regex + "/ in:\n" + out + err);
        return m.group(1);
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n" + out + err;
    }
}
