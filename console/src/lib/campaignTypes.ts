import type { CampaignType } from "../api/client";

export const CAMPAIGN_TYPES: { value: CampaignType; label: string }[] = [
  { value: "message", label: "Message" },
  { value: "invitation", label: "Invitation" },
  { value: "data_collection", label: "Data collection" },
  { value: "engagement", label: "Engagement" },
  { value: "custom", label: "Custom" },
];
