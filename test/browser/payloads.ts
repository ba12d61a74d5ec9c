/**
 * What the browser page uploads with zstd (through the WebAssembly codec) and the driver reads back under Node: the
 * same bytes, made the same way on both sides.
 */

/** The key and text of the body the page puts whole (one call of the codec). */
export const whole = {
  key: "page/zstd-whole.txt",
  text: "zstd from the browser, compressed in WebAssembly\n".repeat(2000)
}

/** The key of the body the page puts as a stream of {@link streamChunks}. */
export const streamKey = "page/zstd-stream.txt"

/** 48 chunks of 16 KiB of log-like lines (768 KiB: several zstd blocks). */
export const streamChunks = (): Array<Uint8Array> => {
  const encoder = new TextEncoder()
  const chunks: Array<Uint8Array> = []
  let state = 19
  for (let i = 0; i < 48; i++) {
    let lines = ""
    while (lines.length < 16 * 1024) {
      state = (state * 1103515245 + 12345) >>> 0
      lines += `${i} ${state % 1000} PUT /objects/${(state >>> 8) % 4096} 201\n`
    }
    chunks.push(encoder.encode(lines.slice(0, 16 * 1024)))
  }
  return chunks
}
