/** Which actions a campaign's state allows (docs/api.md, "The lifecycle"), so the console
 * offers only those; the API still decides, and its refusal is shown if the state moved. */
import type { CampaignStatus } from "../api/client";

export type Action = "execute" | "pause" | "resume" | "clone" | "delete" | "edit";

const ALLOWED: Record<Action, CampaignStatus[]> = {
  execute: ["draft"],
  pause: ["active"],
  resume: ["paused"],
  clone: ["draft", "scheduled", "active", "paused", "completed", "cancelled"],
  delete: ["draft", "cancelled"],
  // Nothing changes once completed or cancelled.
  edit: ["draft", "scheduled", "active", "paused"],
};

export function allows(status: CampaignStatus, action: Action): boolean {
  return ALLOWED[action].includes(status);
}

export const STATUSES: CampaignStatus[] = ["draft", "scheduled", "active", "paused", "completed", "cancelled"];

export const STATUS_TAG: Record<CampaignStatus, "info" | "primary" | "success" | "warning" | "danger"> = {
  draft: "info",
  scheduled: "primary",
  active: "success",
  paused: "warning",
  completed: "info",
  cancelled: "danger",
};
