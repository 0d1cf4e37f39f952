export { type CookieStoreOptions, cookieStore } from "./cookie-store.js";
