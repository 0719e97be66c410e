/** The segment filter language (docs/audience.md, "The filter language") as the builder
 * edits it: conditions joined by one `and` or `or`. A filter of another shape (nested, a
 * `not`) is not the builder's: the screen shows it as it is and leaves it alone. */
import type { Schemas } from "../api/client";

export type Kind = "integer" | "text" | "choice" | "tags" | "boolean" | "time" | "attribute";

export interface Field {
  name: string;
  label: string;
  kind: Kind;
  ops: string[];
}

const NUMBER_OPS = ["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "between"];
const TEXT_OPS = ["eq", "ne", "in", "nin", "exists"];
const TIME_OPS = ["gt", "gte", "lt", "lte", "between"];

export const FIELDS: Field[] = [
  { name: "location", label: "Country", kind: "text", ops: TEXT_OPS },
  { name: "age", label: "Age", kind: "integer", ops: [...NUMBER_OPS, "exists"] },
  { name: "interests", label: "Interests", kind: "tags", ops: ["any", "all", "exists"] },
  { name: "chatType", label: "Chat type", kind: "choice", ops: ["eq", "ne", "in", "nin"] },
  { name: "languageCode", label: "Language", kind: "text", ops: TEXT_OPS },
  { name: "firstName", label: "First name", kind: "text", ops: TEXT_OPS },
  { name: "lastName", label: "Last name", kind: "text", ops: TEXT_OPS },
  { name: "username", label: "Username", kind: "text", ops: TEXT_OPS },
  { name: "purchaseHistory", label: "Has purchased", kind: "boolean", ops: ["eq", "ne"] },
  { name: "isTestRecipient", label: "Test recipient", kind: "boolean", ops: ["eq", "ne"] },
  { name: "lastPurchase", label: "Last purchase", kind: "time", ops: [...TIME_OPS, "exists"] },
  { name: "createdAt", label: "Added", kind: "time", ops: TIME_OPS },
  { name: "telegramId", label: "Telegram id", kind: "integer", ops: NUMBER_OPS },
  { name: "attributes.", label: "Attribute…", kind: "attribute", ops: ["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "between", "exists"] },
];

export const OP_LABELS: Record<string, string> = {
  eq: "is", ne: "is not", in: "is one of", nin: "is none of", gt: "is more than", gte: "is at least",
  lt: "is less than", lte: "is at most", between: "is between", exists: "is known",
  any: "has any of", all: "has all of",
};

export interface Condition {
  field: string; // a FIELDS name, or "attributes." for an attribute named in `attribute`
  attribute: string;
  op: string;
  value: string; // as typed: lists comma-separated, `between` as "low, high"
}

export interface Builder {
  join: "and" | "or";
  conditions: Condition[];
}

const LISTS = new Set(["in", "nin", "any", "all", "between"]);

export function fieldOf(condition: Condition): Field {
  return FIELDS.find((f) => f.name === condition.field) ?? FIELDS[0];
}

function typed(kind: Kind, text: string): unknown {
  const trimmed = text.trim();
  if (kind === "integer") return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
  if (kind === "boolean") return trimmed === "true";
  if (kind === "time") return trimmed && !/[zZ]|[+-]\d\d:\d\d$/.test(trimmed) ? new Date(trimmed).toISOString() : trimmed;
  if (kind === "attribute") {
    // Attribute values keep their JSON type: 5 is a number, "5" written with quotes text.
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
    if (trimmed === "true" || trimmed === "false") return trimmed === "true";
    return trimmed.replace(/^"(.*)"$/, "$1");
  }
  return trimmed;
}

/** The API's filter for what the builder holds. */
export function toFilter(builder: Builder): Schemas["SegmentFilter"] {
  const predicates = builder.conditions.map((c) => {
    const field = fieldOf(c);
    const name = field.kind === "attribute" ? `attributes.${c.attribute.trim()}` : field.name;
    if (c.op === "exists") return { field: name, op: "exists", value: c.value !== "false" };
    const value = LISTS.has(c.op) ? c.value.split(",").filter((v) => v.trim()).map((v) => typed(field.kind, v)) : typed(field.kind, c.value);
    return { field: name, op: c.op, value };
  });
  // The builder offers the document's fields and operators only; the values typed in are
  // the API's to check (it says what is wrong), hence the cast.
  return { [builder.join]: predicates } as unknown as Schemas["SegmentFilter"];
}

function shown(value: unknown): string {
  return typeof value === "string" && /^-?\d+(\.\d+)?$|^(true|false)$/.test(value) ? `"${value}"` : String(value);
}

/** The builder for a stored filter, or null when the builder cannot show it. */
export function fromFilter(stored: Schemas["SegmentFilter"]): Builder | null {
  const filter = stored as Record<string, unknown>;
  const join = "and" in filter ? "and" : "or" in filter ? "or" : null;
  const list = join ? filter[join] : [filter];
  if (!Array.isArray(list)) return null;
  const conditions: Condition[] = [];
  for (const item of list as Record<string, unknown>[]) {
    if (typeof item.field !== "string" || typeof item.op !== "string") return null;
    const attribute = item.field.startsWith("attributes.");
    if (!attribute && !FIELDS.some((f) => f.name === item.field)) return null;
    const kind = attribute ? "attribute" : FIELDS.find((f) => f.name === item.field)!.kind;
    const values = Array.isArray(item.value) ? item.value : [item.value];
    conditions.push({
      field: attribute ? "attributes." : item.field,
      attribute: attribute ? item.field.slice("attributes.".length) : "",
      op: item.op,
      value: values.map((v) => (kind === "attribute" ? shown(v) : String(v))).join(", "),
    });
  }
  return { join: join ?? "and", conditions };
}
