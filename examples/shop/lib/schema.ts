import * as z from "zod";

/** The shop's catalog: the only SKUs the cart accepts. */
export const products = [
  { sku: "tea-01", name: "Sencha green tea", price: 1200, note: "Steamed, grassy, 100 g" },
  { sku: "tea-02", name: "Assam breakfast", price: 900, note: "Malty black tea, 250 g" },
  { sku: "cup-01", name: "Stoneware cup", price: 1800, note: "Hand-glazed, 200 ml" },
  { sku: "pot-01", name: "Glass teapot", price: 3400, note: "With steel infuser, 800 ml" },
] as const;

export type Product = (typeof products)[number];

export const productBySku = (sku: string): Product | undefined => products.find((p) => p.sku === sku);

/** One cart line. The messages are the schema's own: the page shows them as they are. */
export const cartItem = z.object({
  sku: z.string().min(1),
  qty: z
    .number({ error: "Quantity must be a number" })
    .int({ error: "Quantity must be a whole number" })
    .positive({ error: "Quantity must be at least 1" })
    .max(99, { error: "Quantity can be at most 99" }),
});

/**
 * The session, declared once: everything the shop keeps between requests, typed and
 * validated on every write.
 */
export const sessionSchema = z.object({
  /** Set at login (any name, no password: it is a demo). */
  userId: z.string().trim().min(1, { error: "Enter a name" }).max(32, { error: "Names are at most 32 characters" }).optional(),
  /** A random id per login, so that one device can be revoked on its own. */
  deviceId: z.string().optional(),
  /** A readable label of the browser that logged in, for the "Your sessions" page. */
  device: z.string().max(120).optional(),
  cart: z.array(cartItem).max(20, { error: "The cart holds at most 20 lines" }).default([]),
  theme: z.enum(["light", "dark"]).default("light"),
  /** A one-time message (set with `flash`, read with `consumeFlash`). */
  flash: z.string().optional(),
  lastSeen: z.date().optional(),
});

export type CartItem = z.output<typeof cartItem>;
export type Theme = z.output<typeof sessionSchema>["theme"];

export const formatPrice = (cents: number) => `€${(cents / 100).toFixed(2)}`;
