import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import * as z from "zod";
import { deviceLabel } from "./device";
import { productBySku } from "./schema";
import { procedure, router, userProcedure, validated } from "./trpc";

export const appRouter = router({
  cart: router({
    /**
     * Adds `qty` of a product. The quantity is checked by the session schema, not here: a bad
     * one (0, 2.5, a line over 99) is refused by `session.set` with the schema's message.
     */
    add: procedure.input(z.object({ sku: z.string(), qty: z.number() })).mutation(({ ctx, input }) => {
      if (productBySku(input.sku) === undefined) throw new TRPCError({ code: "NOT_FOUND", message: "No such product." });
      const before = ctx.session.get("cart");
      const line = before.find((item) => item.sku === input.sku);
      return validated(() => {
        // First the line as entered (the schema's rules for a quantity), then the merged line
        // (at most 99 in all). The adapter commits even after an error, so a refused merge puts
        // the cart back as it was; a refused first write changed nothing.
        ctx.session.set("cart", [...before, { sku: input.sku, qty: input.qty }]);
        if (line !== undefined) {
          const merged = before.map((item) => (item === line ? { sku: item.sku, qty: item.qty + input.qty } : item));
          try {
            ctx.session.set("cart", merged);
          } catch (error) {
            ctx.session.set("cart", before);
            throw error;
          }
        }
        return ctx.session.get("cart");
      });
    }),
    remove: procedure.input(z.object({ sku: z.string() })).mutation(({ ctx, input }) => {
      ctx.session.set(
        "cart",
        ctx.session.get("cart").filter((item) => item.sku !== input.sku),
      );
      return ctx.session.get("cart");
    }),
  }),

  theme: procedure.input(z.object({ theme: z.enum(["light", "dark"]) })).mutation(({ ctx, input }) => {
    ctx.session.set("theme", input.theme);
    return input.theme;
  }),

  auth: router({
    /** Any name, no password. The session rotates: a new token for the same data (cart, theme). */
    login: procedure.input(z.object({ username: z.string() })).mutation(async ({ ctx, input }) => {
      const device = deviceLabel(ctx.req.headers.get("user-agent"));
      // Write first (the schema trims and bounds the name; a refused one changes nothing), then
      // rotate: the new token carries the unsaved changes, and the old one is dead at once.
      validated(() => ctx.session.update({ userId: input.username, deviceId: randomUUID(), device, lastSeen: new Date() }));
      await ctx.session.rotate();
      ctx.session.flash("flash", `Welcome back, ${ctx.session.get("userId")}`);
      return { userId: ctx.session.get("userId") };
    }),
    /** Deletes this session; the cookie is cleared. */
    logout: procedure.mutation(async ({ ctx }) => {
      await ctx.session.destroy();
      return { ok: true };
    }),
  }),

  flash: router({
    /** Reads the flash message and removes it: it is shown once. */
    consume: procedure.mutation(({ ctx }) => ctx.session.consumeFlash("flash") ?? null),
  }),

  devices: router({
    /** Signs one of the user's other sessions out, named by the tag that `findMany` lists. */
    revoke: userProcedure.input(z.object({ tag: z.string() })).mutation(async ({ ctx, input }) => {
      if (input.tag === ctx.session.tag) {
        throw new TRPCError({ code: "BAD_REQUEST", message: "That is this device: use Log out." });
      }
      const mine = await ctx.sessions.findMany({ where: { userId: ctx.userId } });
      const target = mine.find((info) => info.tag === input.tag);
      const deviceId = target?.data.deviceId;
      if (deviceId === undefined) throw new TRPCError({ code: "NOT_FOUND", message: "That session has already ended." });
      return { revoked: await ctx.sessions.revoke({ where: { userId: ctx.userId, deviceId } }) };
    }),
    /** "Log out other devices": every session of this user but the current one. */
    revokeOthers: userProcedure.mutation(async ({ ctx }) => ({
      revoked: await ctx.sessions.revoke({ where: { userId: ctx.userId }, except: ctx.session }),
    })),
  }),
});

export type AppRouter = typeof appRouter;
