package io.github.jconv.tools;

import io.github.jconv.tools.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code jconv} command line: device probe, benchmark and the convolution analysis tools. */
@Command(name = "jconv", mixinStandardHelpOptions = true, version = "jconv 0.1.0",
        description = "Convolution on CUDA/cuDNN, OpenCL or the CPU: probe devices, benchmark, analyse stacks, train a demo.",
        footer = {"",
                "Anywhere on the line: -Dkey=value sets a system property for the run",
                "(e.g. -Djconv.backend=cpu, -Djconv.fallback=WARN); --debug adds the stack",
                "trace to an unexpected error. JVM options go in JCONV_JAVA_OPTS,",
                "e.g. JCONV_JAVA_OPTS=-Xmx8g ./jconv bench.",
                "Exit codes: 0 done; 1 the run failed (a check, a backend, the machine);",
                "2 a bad argument."},
        subcommands = {ProbeCommand.class, BenchCommand.class, RfCommand.class, ErfCommand.class,
                OverlapCommand.class, FlopsCommand.class, DemoCommand.class, TuneCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit code of a bad argument. */
    static final int USAGE = 2;
    /** Exit code of a run that failed for another reason. */
    static final int FAILED = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Option(names = "--debug", description = "print the stack trace of an unexpected error (accepted anywhere on the line)")
    boolean debug;

    public static void main(String[] args) {
        // the library's warnings (a fallback, a leaked buffer) in one line each, without the logger's date and class line
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        }
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs one command line: takes {@code -Dkey=value} and {@code --debug} from anywhere before a
     * {@code --}, then runs the command. Nothing escapes: an error is one line on {@code err} and a
     * non-zero exit code (2 for a bad argument); the stack trace only with {@code --debug}. The
     * properties set are put back afterwards, so that in-process callers (tests) see no change.
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        boolean debug = false;
        List<String> rest = new ArrayList<>();
        Map<String, String> props = new LinkedHashMap<>();
        boolean literal = false;
        for (String a : args) {
            if (!literal && a.equals("--")) literal = true;
            if (!literal && a.equals("--debug")) {
                debug = true;
            } else if (!literal && a.startsWith("-D")) {
                int eq = a.indexOf('=');
                String key = eq < 0 ? a.substring(2) : a.substring(2, eq);
                if (key.isBlank()) {
                    err.println("jconv: " + a + ": a system property needs a name, e.g. -Djconv.backend=cpu");
                    err.flush();
                    return USAGE;
                }
                props.put(key, eq < 0 ? "" : a.substring(eq + 1));
            } else {
                rest.add(a);
            }
        }
        Map<String, String> before = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : props.entrySet()) {
            before.put(e.getKey(), System.getProperty(e.getKey()));
            System.setProperty(e.getKey(), e.getValue());
        }
        try {
            CommandLine cl = commandLine(debug);
            cl.setOut(out);
            cl.setErr(err);
            return cl.execute(rest.toArray(new String[0]));
        } catch (Throwable t) { // an Error (OutOfMemoryError, LinkageError) is not passed to picocli's handler
            return report(t, "jconv", err, debug);
        } finally {
            out.flush();
            err.flush();
            for (Map.Entry<String, String> e : before.entrySet()) {
                if (e.getValue() == null) System.clearProperty(e.getKey());
                else System.setProperty(e.getKey(), e.getValue());
            }
        }
    }

    /** The configured command line (without the {@code -D} and {@code --debug} handling of {@link #run}). */
    public static CommandLine commandLine() {
        return commandLine(false);
    }

    static CommandLine commandLine(boolean debug) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> report(ex, cmd.getCommandName(), cmd.getErr(), debug));
        // picocli's own messages (unknown option, a value that is not a number) in one line, without the whole usage
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            String path = cmd.getCommandSpec().qualifiedName(" ").replaceFirst("^jconv", "./jconv");
            err.println(cmd.getCommandName() + ": " + oneLine(ex.getMessage()) + " (see " + path + " --help)");
            if (debug) ex.printStackTrace(err);
            err.flush();
            return USAGE;
        });
        return cl;
    }

    /** One line for {@code t} on {@code err}; the exit code: 2 for a bad argument, 1 for anything else. */
    static int report(Throwable t, String command, PrintWriter err, boolean debug) {
        Throwable e = t instanceof CommandLine.ExecutionException && t.getCause() != null ? t.getCause() : t;
        int code;
        String line;
        if (e instanceof IllegalArgumentException || e instanceof IllegalStateException || e instanceof UnsupportedOperationException) {
            code = USAGE;
            line = e.getMessage();
        } else if (e instanceof OutOfMemoryError) {
            code = FAILED;
            line = "out of memory (" + e.getMessage() + "): choose smaller sizes, or give the JVM more heap, e.g."
                    + " JCONV_JAVA_OPTS=-Xmx8g ./jconv " + command;
        } else if (e instanceof UncheckedIOException || e instanceof IOException) {
            code = FAILED;
            Throwable io = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
            line = (e.getMessage() == null ? "" : e.getMessage()) + (io != e ? " (" + io.getClass().getSimpleName() + ")" : "");
        } else {
            code = FAILED;
            line = "unexpected error " + e.getClass().getName() + ": " + e.getMessage()
                    + (debug ? "" : " (run again with --debug for the stack trace)");
        }
        err.println(command + ": " + oneLine(line));
        if (debug) e.printStackTrace(err);
        err.flush();
        return code;
    }

    /** {@code s} on one line. */
    public static String oneLine(String s) {
        if (s == null) return "";
        return s.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
