import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import * as z from "zod";
import { deviceLabel } from "./device";
import { cartItem, productBySku } from "./schema";
import { procedure, router, userProcedure, validated } from "./trpc";

export const appRouter = router({
  cart: router({
    /**
     * Adds `qty` of a product. The quantity is checked by the session schema, not here: a bad
     * one (0, 2.5, a line over 99) is refused with the schema's own message.
     */
    add: procedure.input(z.object({ sku: z.string(), qty: z.number() })).mutation(({ ctx, input }) => {
      if (productBySku(input.sku) === undefined) throw new TRPCError({ code: "NOT_FOUND", message: "No such product." });
      return validated(() => {
        // The line as entered, by the schema's rules for one line: merged into an existing one,
        // a 0 or a -2 would otherwise pass unseen.
        const entered = cartItem.parse({ sku: input.sku, qty: input.qty });
        const before = ctx.session.get("cart");
        const merged = before.some((item) => item.sku === entered.sku)
          ? before.map((item) => (item.sku === entered.sku ? { sku: item.sku, qty: item.qty + entered.qty } : item))
          : [...before, entered];
        // One write: a refused cart (a line over 99, more than 20 lines) throws and changes
        // nothing, and a procedure that fails commits none of its writes.
        ctx.session.set("cart", merged);
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
    /**
     * Any name, no password. `session.login` rotates the token (the old one is dead at once);
     * an anonymous session keeps its cart and theme, and a session that held another user is
     * cleared first, so nothing of theirs reaches this one. The name is validated before
     * anything changes.
     */
    login: procedure.input(z.object({ username: z.string() })).mutation(async ({ ctx, input }) => {
      await validated(() => ctx.session.login("userId", input.username));
      // After the login, which may have cleared the session: this device, as of now.
      ctx.session.update({
        deviceId: randomUUID(),
        device: deviceLabel(ctx.req.headers.get("user-agent")),
        lastSeen: new Date(),
      });
      const userId = ctx.session.get("userId");
      ctx.session.flash("flash", `Welcome back, ${userId}`);
      return { userId };
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
