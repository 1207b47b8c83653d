// Paging, in the shape of the Files.com SDK's ListObj.
//
//   const list = await client.users.list({ per_page: 1000 });   // first page loaded
//   list.data; list.hasNextPage; await list.loadNextPage();     // manual paging
//   for await (const user of client.users.list({ per_page: 1000 })) { ... }  // every page
//
// A list action returns a ListPromise: awaiting it gives the ListObj with the
// first page; iterating it with `for await` walks every item of every page.
// Nothing is sent until it is awaited or iterated.

/** Loads one page: the items and the cursor of the next page ("" or undefined on the last). */
export type PageLoader<T> = (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string }>;

/** One page of a list action, with the SDK's paging interface. */
export class ListObj<T> implements AsyncIterable<T>, Iterable<T> {
  /** The items of the current page. */
  data: T[] = [];
  /** The cursor of the next page, undefined on the last page. */
  cursor: string | undefined;
  private loaded = false;

  constructor(private readonly loader: PageLoader<T>) {}

  /** True while another page follows the current one (or none was loaded yet). */
  get hasNextPage(): boolean {
    return !this.loaded || this.cursor !== undefined;
  }

  /** Items on the current page. */
  get length(): number {
    return this.data.length;
  }

  /**
   * Replaces data with the next page (the first one on the first call) and
   * returns this ListObj. After the last page it leaves data empty.
   */
  async loadNextPage(): Promise<this> {
    if (this.loaded && this.cursor === undefined) {
      this.data = [];
      return this;
    }
    const page = await this.loader(this.cursor);
    this.loaded = true;
    this.data = page.items;
    this.cursor = page.nextCursor ? page.nextCursor : undefined;
    return this;
  }

  /** Every item of every page, from the current page on, loading pages as it goes. */
  async *autoPagingIter(): AsyncGenerator<T, void, undefined> {
    if (!this.loaded) await this.loadNextPage();
    for (;;) {
      yield* this.data;
      if (!this.hasNextPage) return;
      await this.loadNextPage();
    }
  }

  /** Every remaining item of every page, in one array. */
  async all(): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this.autoPagingIter()) out.push(item);
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.autoPagingIter();
  }

  /** The current page only (`for await` walks every page). */
  [Symbol.iterator](): Iterator<T> {
    return this.data[Symbol.iterator]();
  }
}

/**
 * What a list action returns: a promise of the ListObj with its first page
 * loaded, and an async iterable of every item of every page. Lazy: the first
 * request goes out when it is awaited or iterated.
 */
export class ListPromise<T> implements PromiseLike<ListObj<T>>, AsyncIterable<T> {
  private promise: Promise<ListObj<T>> | undefined;

  constructor(private readonly start: () => Promise<ListObj<T>>) {}

  private get started(): Promise<ListObj<T>> {
    if (!this.promise) this.promise = this.start();
    return this.promise;
  }

  then<R1 = ListObj<T>, R2 = never>(
    onfulfilled?: ((value: ListObj<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.started.then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<ListObj<T> | R> {
    return this.started.catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<ListObj<T>> {
    return this.started.finally(onfinally);
  }

  /** Every item of every page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const list = await this.started;
    yield* list.autoPagingIter();
  }

  /** Every item of every page, in one array. */
  async all(): Promise<T[]> {
    return (await this.started).all();
  }

  get [Symbol.toStringTag](): string {
    return "ListPromise";
  }
}
