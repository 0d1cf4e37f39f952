/** A static page: prerendered at build time, served with Next's year-long `s-maxage`. */
export default function StaticPage() {
  return <p>static page</p>;
}
