/** Dates in the operator's own time zone (the browser's); the API speaks UTC. */
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const number = new Intl.NumberFormat();

export function formatDate(value: string | null | undefined): string {
  return value ? dateTime.format(new Date(value)) : "—";
}

export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : number.format(value);
}

export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${number.format(Math.round(value * 10) / 10)} %`;
}
