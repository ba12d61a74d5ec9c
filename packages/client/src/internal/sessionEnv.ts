/**
 * What the operations of one session share: the client context, the usecase and scope, and the helpers every
 * operation uses (its request, its span attributes, its not-found error, the metadata of an answer).
 *
 * @since 0.1.0
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Metadata from "@objectstore/protocol/Metadata"
import * as Path from "@objectstore/protocol/Path"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Timestamp from "@objectstore/protocol/Timestamp"
import type * as Compression from "../Compression.js"
import { NotFoundError } from "../ObjectstoreError.js"
import type * as Session from "../SessionModel.js"
import type * as Usecase from "../Usecase.js"
import type * as Files from "./files.js"
import type * as Http from "./http.js"

/**
 * The client context a session is made from.
 *
 * @internal
 */
export type SessionContext = Http.ClientContext & { readonly compression: Compression.Service } & Files.FileContext

/**
 * One session: its client context, usecase and scope (validated, as components and rendered).
 *
 * @internal
 */
export interface Env {
  readonly context: SessionContext
  readonly usecase: Usecase.Usecase
  readonly components: ProtocolScope.Components
  readonly scope: string
}

/**
 * The request of a single-object operation on `key` (`undefined`: a keyless insert).
 *
 * @internal
 */
export const spec = (
  env: Env,
  method: HttpMethod.HttpMethod,
  operation: Http.RequestSpec["operation"],
  key: string | undefined
) => ({
  operation,
  usecase: env.usecase.name,
  scope: env.components,
  method,
  path: Path.objectPath({
    basePath: env.context.basePath,
    resource: "objects",
    usecase: env.usecase.name,
    scope: env.scope,
    key
  }),
  replayable: true,
  idempotent: method !== "POST",
  // Only get hands the body out; put, head and delete read it whole, so they skip the per-request scope abort.
  bodyInScope: operation === "get"
})

/**
 * The `objectstore.*` attributes of an operation's span (see `Spans.operation`).
 *
 * @internal
 */
export const attributes = (env: Env, key?: string): Record<string, unknown> =>
  key === undefined
    ? { "objectstore.usecase": env.usecase.name, "objectstore.scope": env.scope }
    : { "objectstore.usecase": env.usecase.name, "objectstore.scope": env.scope, "objectstore.key": key }

/**
 * @internal
 */
export const notFound = (env: Env, key: string) =>
  new NotFoundError({ usecase: env.usecase.name, scope: env.scope, key })

/**
 * The client view of a response's metadata headers.
 *
 * @internal
 */
export const toObjectMetadata = (
  response: Pick<HttpClientResponse.HttpClientResponse, "headers">
): Session.ObjectMetadata => {
  const get = (name: string): string | undefined => response.headers[name.toLowerCase()]
  const metadata = Metadata.fromResponseHeaders(response.headers)
  return {
    contentType: metadata.contentType,
    compression: metadata.compression === "zstd" ? "zstd" : "none",
    expirationPolicy: metadata.expirationPolicy,
    timeCreated: metadata.timeCreated === undefined ? undefined : Timestamp.toDate(metadata.timeCreated),
    timeCreatedText: metadata.timeCreated === undefined ? undefined : get(Metadata.TIME_CREATED),
    timeExpires: metadata.timeExpires === undefined ? undefined : Timestamp.toDate(metadata.timeExpires),
    timeExpiresText: metadata.timeExpires === undefined ? undefined : get(Metadata.TIME_EXPIRES),
    origin: metadata.origin,
    filename: metadata.filename,
    custom: metadata.custom
  }
}
