/**
 * Loads a runtime built-in module (`node:fs`, `node:zlib`, ...) on first use.
 *
 * The specifier is passed as a value, not a literal, so that bundlers leave the import to the runtime: a browser
 * bundle of the client builds without Node.js modules, and the load simply fails there (every caller has a
 * fallback or a clear error for runtimes without the module).
 *
 * @internal
 */
export const importBuiltin = <A>(specifier: `node:${string}`): Promise<A> => import(/* @vite-ignore */ specifier)
