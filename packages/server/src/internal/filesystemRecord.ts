/**
 * The metadata record of the filesystem stores: an object's identity, generation, size and metadata as versioned
 * JSON (`objects/<id>.json`), also kept by resumable sessions for the object they will write.
 *
 * @internal
 */
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Duration from "effect/Duration"
import type * as StorageModel from "../StorageModel.js"

type Metadata = StorageModel.ObjectInfo["metadata"]
type Policy = Metadata["expirationPolicy"]

interface RecordJson {
  readonly version: 1
  readonly id: {
    readonly usecase: string
    readonly scopes: ReadonlyArray<readonly [string, string]>
    readonly key: string
  }
  readonly generation: string
  readonly size: number
  readonly metadata: {
    readonly contentType: string
    readonly compression: "zstd" | null
    readonly expiration: { readonly kind: "manual" } | { readonly kind: "ttl" | "tti"; readonly nanos: string }
    readonly timeCreated: string | null
    readonly timeExpires: string | null
    readonly origin: string | null
    readonly filename: string | null
    readonly custom: Readonly<Record<string, string>>
  }
}

/** @internal */
export interface StoredRecord {
  readonly id: StorageModel.ObjectId
  readonly info: StorageModel.ObjectInfo
}

const durationNanos = (policy: Policy): string =>
  policy._tag === "Manual" ? "0" : Duration.unsafeToNanos(policy.duration).toString()

const policyFromJson = (expiration: RecordJson["metadata"]["expiration"]): Policy => {
  if (expiration.kind === "manual") return ExpirationPolicy.manual
  const duration = Duration.nanos(BigInt(expiration.nanos))
  return expiration.kind === "ttl" ? ExpirationPolicy.timeToLive(duration) : ExpirationPolicy.timeToIdle(duration)
}

/** @internal */
export const encodeRecord = (id: StorageModel.ObjectId, info: StorageModel.ObjectInfo): string => {
  const m = info.metadata
  const policy = m.expirationPolicy
  const json: RecordJson = {
    version: 1,
    id: { usecase: id.usecase, scopes: id.scopes.map(([name, value]) => [name, value] as const), key: id.key },
    generation: info.generation,
    size: info.size,
    metadata: {
      contentType: m.contentType,
      compression: m.compression ?? null,
      expiration: policy._tag === "Manual"
        ? { kind: "manual" }
        : { kind: policy._tag === "TimeToLive" ? "ttl" : "tti", nanos: durationNanos(policy) },
      timeCreated: m.timeCreated === undefined ? null : m.timeCreated.toString(),
      timeExpires: m.timeExpires === undefined ? null : m.timeExpires.toString(),
      origin: m.origin ?? null,
      filename: m.filename ?? null,
      custom: { ...m.custom }
    }
  }
  return JSON.stringify(json)
}

/** @internal */
export const decodeRecord = (text: string): StoredRecord => {
  const json = JSON.parse(text) as RecordJson
  if (json.version !== 1) throw new Error(`unknown record version ${String(json.version)}`)
  const m = json.metadata
  const metadata: Metadata = {
    contentType: m.contentType,
    compression: m.compression ?? undefined,
    expirationPolicy: policyFromJson(m.expiration),
    timeCreated: m.timeCreated === null ? undefined : BigInt(m.timeCreated),
    timeExpires: m.timeExpires === null ? undefined : BigInt(m.timeExpires),
    origin: m.origin ?? undefined,
    filename: m.filename ?? undefined,
    custom: m.custom
  }
  return {
    id: { usecase: json.id.usecase, scopes: json.id.scopes, key: json.id.key },
    info: { metadata, size: json.size, generation: json.generation }
  }
}
