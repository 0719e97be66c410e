/** Sends a file with its upload progress: fetch reports none, XMLHttpRequest does. */
import { ApiError, type Schemas } from "../api/client";

export function upload<T>(
  url: string,
  file: File,
  contentType: string,
  token: string | null,
  onProgress: (fraction: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("Content-Type", contentType);
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      let body: { data?: T; error?: Schemas["ErrorBody"] } = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // not the API's envelope: reported by status below
      }
      if (request.status >= 200 && request.status < 300 && body.data !== undefined) resolve(body.data);
      else reject(new ApiError(request.status, body.error?.code ?? `HTTP_${request.status}`, body.error?.message ?? `the server answered ${request.status}`));
    };
    request.onerror = () => reject(new TypeError("network error"));
    request.send(file);
  });
}
