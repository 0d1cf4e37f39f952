"use client";
import { useEffect } from "react";

/** Marks the page as hydrated (`<html data-ready>`): the e2e test waits for it before clicking. */
export function Ready() {
  useEffect(() => {
    document.documentElement.dataset.ready = "1";
  }, []);
  return null;
}
