import type { Schemas } from "../api/client";

/** The events a webhook can subscribe to (typed: one the API does not know fails the build). */
export const WEBHOOK_EVENTS: Schemas["NewWebhook"]["events"] = [
  "campaign.created",
  "campaign.cloned",
  "campaign.updated",
  "campaign.deleted",
  "campaign.scheduled",
  "campaign.started",
  "campaign.paused",
  "campaign.resumed",
  "campaign.completed",
  "campaign.cancelled",
  "campaign.failed",
];
