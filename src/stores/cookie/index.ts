export type { CookieSessionStore } from "../../store.js";
export { type CookieStoreOptions, cookieStore } from "./cookie-store.js";
