/**
 * Where zstd frames begin and end in a byte stream, found from their headers without decoding (RFC 8878 §3.1).
 *
 * A stored zstd object may be several frames back to back (a multipart upload compresses each part on its own).
 * Some decoders stop at the end of the first frame and drop the rest without a word, and accept a frame cut short
 * (`node:zlib` in Node.js 22); {@link make} lets such a decoder be given one frame at a time, and tells when the
 * input ended inside a frame.
 *
 * Layout walked: a frame is the magic number `28 B5 2F FD`, a header whose length follows from its first byte
 * (window descriptor, dictionary id and content size fields), blocks of a 3-byte header plus content (the block size,
 * or 1 byte for an RLE block) until the block marked last, then a 4-byte checksum when the header says so. A
 * skippable frame is a magic number `5? 2A 4D 18` and a 4-byte length of data to skip.
 *
 * @internal
 */

const ZSTD_MAGIC = 0xfd2fb528
const SKIPPABLE_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50

/** A run of input bytes that belongs to one zstd frame. @internal */
export interface Segment {
  readonly bytes: Uint8Array
  /** This run completes its frame. */
  readonly endsFrame: boolean
}

/** @internal */
export interface Scanner {
  /**
   * Splits the next input chunk at frame boundaries. Skippable frames are dropped (they carry no content).
   * Throws an `Error` on bytes that are not zstd frames.
   */
  readonly split: (chunk: Uint8Array) => ReadonlyArray<Segment>
  /** Whether the input so far ends exactly between frames (nothing, or only whole frames). */
  readonly atBoundary: () => boolean
}

type State =
  | "magic" // reading the 4-byte magic number
  | "descriptor" // reading the frame header descriptor (1 byte)
  | "header" // skipping the rest of the frame header
  | "blockHeader" // reading a 3-byte block header
  | "blockData" // skipping block content
  | "checksum" // skipping the 4-byte content checksum
  | "skipSize" // reading a skippable frame's 4-byte size
  | "skipData" // skipping a skippable frame's data

/**
 * Whether `bytes` starts with a zstd frame or a skippable frame, as every stored zstd payload does (RFC 8878 §3.1).
 *
 * @internal
 */
export const startsWithFrame = (bytes: Uint8Array): boolean => {
  if (bytes.length < 4) return false
  const magic = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0
  return magic === ZSTD_MAGIC || ((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC
}

/** @internal */
export const make = (): Scanner => {
  let state: State = "magic"
  /** Header bytes gathered across chunks (at most 4). */
  const gathered = new Uint8Array(4)
  let have = 0
  /** Bytes still to pass in the current skipping state. */
  let remaining = 0
  let checksum = false
  let lastBlock = false

  const littleEndian = (count: number): number => {
    let value = 0
    for (let i = count - 1; i >= 0; i--) value = value * 256 + gathered[i]!
    return value
  }

  const split = (chunk: Uint8Array): ReadonlyArray<Segment> => {
    const segments: Array<Segment> = []
    const inFrame = () => state !== "magic" && state !== "skipSize" && state !== "skipData"
    /** Where the current zstd frame's bytes begin in this chunk; -1 outside one (or in a skippable frame). */
    let start = inFrame() ? 0 : -1
    /** Where the magic number being read began in this chunk; -1 when it began in an earlier chunk. */
    let magicStart = state === "magic" && have === 0 ? 0 : -1
    let i = 0
    const endFrame = (end: number) => {
      if (start >= 0) segments.push({ bytes: chunk.subarray(start, end), endsFrame: true })
      start = -1
      magicStart = end
      state = "magic"
      have = 0
    }
    while (i < chunk.length) {
      switch (state) {
        case "magic": {
          gathered[have++] = chunk[i++]!
          if (have < 4) break
          const magic = littleEndian(4) >>> 0
          have = 0
          if (magic === ZSTD_MAGIC) {
            if (magicStart >= 0) start = magicStart
            else {
              // The magic number straddles two chunks: pass it on from the copy.
              segments.push({ bytes: gathered.slice(0, 4), endsFrame: false })
              start = i
            }
            state = "descriptor"
          } else if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
            state = "skipSize"
          } else throw new Error("not zstd data (bad frame magic number)")
          break
        }
        case "descriptor": {
          const descriptor = chunk[i++]!
          if ((descriptor & 0x08) !== 0) throw new Error("corrupt zstd frame header (reserved bit set)")
          const singleSegment = (descriptor & 0x20) !== 0
          checksum = (descriptor & 0x04) !== 0
          const dictionaryIdSize = [0, 1, 2, 4][descriptor & 0x03]!
          const contentSizeSize = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!
          remaining = (singleSegment ? 0 : 1) + dictionaryIdSize + contentSizeSize
          state = remaining === 0 ? "blockHeader" : "header"
          break
        }
        case "header":
        case "blockData":
        case "checksum":
        case "skipData": {
          const step = Math.min(remaining, chunk.length - i)
          i += step
          remaining -= step
          if (remaining > 0) break
          if (state === "header") state = "blockHeader"
          else if (state === "blockData" && !lastBlock) state = "blockHeader"
          else if (state === "blockData" && checksum) {
            state = "checksum"
            remaining = 4
          } else endFrame(i)
          break
        }
        case "blockHeader": {
          gathered[have++] = chunk[i++]!
          if (have < 3) break
          const header = littleEndian(3)
          have = 0
          lastBlock = (header & 1) === 1
          const type = (header >> 1) & 3
          if (type === 3) throw new Error("corrupt zstd block (reserved block type)")
          remaining = type === 1 ? 1 : header >>> 3
          if (remaining > 0) state = "blockData"
          else if (!lastBlock) state = "blockHeader"
          else if (checksum) {
            state = "checksum"
            remaining = 4
          } else endFrame(i)
          break
        }
        case "skipSize": {
          gathered[have++] = chunk[i++]!
          if (have < 4) break
          remaining = littleEndian(4)
          have = 0
          if (remaining > 0) state = "skipData"
          else endFrame(i)
          break
        }
      }
    }
    if (start >= 0 && start < chunk.length) segments.push({ bytes: chunk.subarray(start), endsFrame: false })
    return segments
  }

  return { split, atBoundary: () => state === "magic" && have === 0 }
}
