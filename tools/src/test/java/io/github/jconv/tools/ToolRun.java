package io.github.jconv.tools;

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
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new ToolRun(exit, out.toString(), err.toString());
    }

    /** The first group of {@code regex} in the output; fails the test when absent. */
    String find(String regex) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(out);
        assertTrue(m.find(), () -> "no match for /" + regex + "/ in:\n" + out + err);
        return m.group(1);
    }

    /** A refusal: exit 2, one line on stderr naming {@code named}, and no stack trace. */
    ToolRun assertRefused(String named) {
        org.junit.jupiter.api.Assertions.assertEquals(2, exit, this::toString);
        assertOneLine();
        assertTrue(err.contains(named), () -> "the message does not name " + named + ": " + this);
        return this;
    }

    /** stderr is exactly one line, and it is no stack trace. */
    ToolRun assertOneLine() {
        String e = err.strip();
        assertTrue(!e.isEmpty() && e.lines().count() == 1, () -> "not one line on stderr: " + this);
        assertTrue(!e.contains("\tat ") && !e.contains("Exception in thread"), () -> "a stack trace: " + this);
        return this;
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n" + out + err;
    }
}
