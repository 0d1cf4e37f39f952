import express from "express";
import type { AppFactory } from "./apps.js";

/** The ceiling: the same routes and answers with no session work, so the gap to it is what sessions cost. */
export const create: AppFactory = async () => {
  const app = express();
  app.get("/read", (_req, res) => {
    res.json({ theme: "light" });
  });
  app.post("/modify", (_req, res) => {
    res.json({ ok: true });
  });
  return { app, close: async () => {} };
};
