package io.github.jconv.tools;

import io.github.jconv.tools.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jconv} command line: device probe, benchmark and the convolution analysis tools. */
@Command(name = "jconv", mixinStandardHelpOptions = true, version = "jconv 0.1.0",
        description = "Convolution on CUDA/cuDNN, OpenCL or the CPU: probe devices, benchmark, analyse stacks, train a demo.",
        subcommands = {ProbeCommand.class, BenchCommand.class, RfCommand.class, ErfCommand.class,
                OverlapCommand.class, FlopsCommand.class, DemoCommand.class, TuneCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (tests run it in-process with captured output). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        // a bad argument prints one line naming it, not a Java stack trace
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
                    || ex instanceof UnsupportedOperationException) {
                cmd.getErr().println(cmd.getCommandName() + ": " + ex.getMessage());
                cmd.getErr().flush();
                return 2;
            }
            throw ex;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
