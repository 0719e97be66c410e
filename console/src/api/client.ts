/** The API client: typed by schema.d.ts (generated from the gateway's OpenAPI document by
 * `make console-client`), so a request or an answer the API does not have fails the build. */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type Schemas = components["schemas"];
export type Campaign = Schemas["CampaignDetail"];
export type CampaignSummary = Schemas["CampaignSummary"];
export type CampaignStatus = Schemas["CampaignStatus"];
export type CampaignType = Schemas["CampaignType"];
export type Progress = Schemas["CampaignProgress"];
export type Role = Schemas["Role"];
export type CampaignSort = NonNullable<NonNullable<operations["listCampaigns"]["parameters"]["query"]>["sort"]>;
/** A campaign message with its fields. The document states "content, templateId or
 * variations" as an anyOf of required fields beside the message's properties, which
 * openapi-typescript turns into a union whose other branches are bare (`{ content: unknown }`);
 * the branch with the properties is the message. */
export type CampaignMessage = Extract<Schemas["CampaignMessage"], { variations: unknown[] }>;
export type Period = NonNullable<NonNullable<operations["getCampaignStatistics"]["parameters"]["query"]>["period"]>;

/** A refusal of the API, with the envelope's code and its message in words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const api = createClient<paths>({ baseUrl: "" });

/** Adds the operator's access token; set by the session store, which owns the token. */
export function authenticateWith(accessToken: () => Promise<string | null>): void {
  const middleware: Middleware = {
    async onRequest({ request }) {
      const token = await accessToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  api.use(middleware);
}

type Answer<T> = {
  data?: { data: T };
  error?: unknown;
  response: Response;
};

/** The `data` of a successful envelope, or an ApiError carrying the refusal's words. */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const body = (error ?? {}) as { error?: Schemas["ErrorBody"] };
    throw new ApiError(
      response.status,
      body.error?.code ?? `HTTP_${response.status}`,
      body.error?.message ?? `the server answered ${response.status} ${response.statusText}`,
      body.error?.details,
    );
  }
  return (data as { data: T }).data;
}

/** What to tell the operator about a failure, in words. */
export function reason(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 503) return "The service is not answering right now; try again shortly.";
    return error.message.charAt(0).toUpperCase() + error.message.slice(1);
  }
  return "The server could not be reached; check the connection and try again.";
}
