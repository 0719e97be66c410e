/** Follows a campaign's live progress (GET …/progress/stream, Server-Sent Events).
 *
 * Read with fetch rather than EventSource: EventSource cannot send the Authorization
 * header, and the API's fallback (the token in the query string) can end up in proxies'
 * logs. The stream ends after a completed or cancelled event; any other end (a gateway
 * restart, a network blip) is followed by a reconnect after the stream's `retry`.
 */
import type { Progress } from "../api/client";

const FINAL = new Set(["completed", "cancelled"]);

export function followProgress(
  campaignId: string,
  accessToken: () => Promise<string | null>,
  onProgress: (progress: Progress) => void,
): () => void {
  const stop = new AbortController();
  let retryMs = 2000;

  async function readOnce(): Promise<boolean> {
    const token = await accessToken();
    const answer = await fetch(`/api/v1/campaigns/${encodeURIComponent(campaignId)}/progress/stream`, {
      headers: { Accept: "text/event-stream", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      signal: stop.signal,
    });
    // A refusal (404, 401…) comes as JSON before any event: nothing to follow.
    if (!answer.ok || !answer.body) return true;
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value.replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const finished = dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (finished) return true;
      }
    }
  }

  /** Handles one event block; true when it was the stream's last. */
  function dispatch(block: string): boolean {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (event === "error") return true;
    if (event !== "progress" || data.length === 0) return false;
    const progress = JSON.parse(data.join("\n")) as Progress;
    onProgress(progress);
    return FINAL.has(progress.status);
  }

  void (async () => {
    while (!stop.signal.aborted) {
      try {
        if (await readOnce()) return;
      } catch {
        if (stop.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  })();
  return () => stop.abort();
}
