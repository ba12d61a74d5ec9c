/** Writes the single-file bundle of the `objectstore-server` command to `outfile`; resolves to its size in bytes. */
export declare const bundle: (outfile?: string) => Promise<number>
