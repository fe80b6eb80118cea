/** The Lua scripts that are the algorithm, and their loader. */
module io.llmlimiter.scripts {
    exports io.llmlimiter.scripts;
    // The .lua files are read as resources, also by tools that list or hash them.
    opens io.llmlimiter.scripts;
}
