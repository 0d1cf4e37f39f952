/**
 * A time as the `datetime(3)` columns hold it: UTC, `YYYY-MM-DD HH:MM:SS.mmm`. Always sent as
 * this text, never as a Date (mysql2 converts a Date through its `timezone` option, local time
 * by default) and never through NOW() or UNIX_TIMESTAMP (which follow the session `time_zone`).
 */
export const utc = (date: Date): string => date.toISOString().slice(0, 23).replace("T", " ");
