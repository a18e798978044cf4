package io.github.jconv;

/** Memory layouts. Only channels-first is implemented; NHWC is named for the GPU-speed work to come. */
public enum Layout {
    /** N, C, then spatial axes (NCW, NCHW, NCDHW). */
    CHANNELS_FIRST,
    /** N, spatial axes, then C. Not implemented yet. */
    CHANNELS_LAST
}
