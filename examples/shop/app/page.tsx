import { AddToCart } from "../components/add-to-cart";
import { Flash } from "../components/flash";
import { RemoveFromCart } from "../components/remove-from-cart";
import { currentSession } from "../lib/current";
import { formatPrice, productBySku, products } from "../lib/schema";

export default async function ShopPage() {
  const session = await currentSession();
  const cart = session.get("cart");
  const flash = session.get("flash");
  const total = cart.reduce((sum, item) => sum + (productBySku(item.sku)?.price ?? 0) * item.qty, 0);
  return (
    <>
      {flash === undefined ? null : <Flash key={flash} message={flash} />}
      <div className="shop">
        <section>
          <h1>Loose-leaf tea and things to brew it in</h1>
          <p className="muted">
            Your cart, theme and login live in a Tessera session: typed by a Zod schema, validated on every write.
          </p>
          <ul className="products">
            {products.map((product) => (
              <li key={product.sku} className="card" data-testid={`product-${product.sku}`}>
                <div className="swatch" data-sku={product.sku} aria-hidden="true" />
                <h2>{product.name}</h2>
                <p className="muted">{product.note}</p>
                <p className="price">{formatPrice(product.price)}</p>
                <AddToCart sku={product.sku} />
              </li>
            ))}
          </ul>
        </section>
        <aside className="card cart" data-testid="cart">
          <h2>Your cart</h2>
          {cart.length === 0 ? (
            <p className="muted">Empty for now.</p>
          ) : (
            <>
              <ul>
                {cart.map((item) => (
                  <li key={item.sku} data-testid={`cart-line-${item.sku}`}>
                    <span>
                      <strong>{item.qty}</strong> × {productBySku(item.sku)?.name ?? item.sku}
                    </span>
                    <RemoveFromCart sku={item.sku} />
                  </li>
                ))}
              </ul>
              <p className="total">
                <span>Total</span>
                <strong data-testid="cart-total">{formatPrice(total)}</strong>
              </p>
            </>
          )}
        </aside>
      </div>
    </>
  );
}
