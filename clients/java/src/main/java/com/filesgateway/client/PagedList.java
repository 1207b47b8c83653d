package com.filesgateway.client;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A typed list action's result with the SDK's paging (the Java SDK's {@code ListIterator}):
 * iterating walks every item of every page from the current one on, loading pages as it
 * goes; {@link #page()}, {@link #hasNextPage()} and {@link #loadNextPage()} page by hand.
 *
 * <pre>
 * for (User user : client.users().list(ListUsersRequest.newBuilder().setPerPage(1000).build())) {
 *   System.out.println(user.getUsername());
 * }
 * </pre>
 *
 * <p>The first page is loaded when the list action is called, so its errors surface there.
 * Not thread-safe: iteration moves the list to later pages.
 *
 * @param <T> the generated item class (com.filesgateway.v1.User, ...)
 */
public final class PagedList<T> implements Iterable<T> {
  /** One page as loaded: its items and the next page's cursor (null on the last). */
  public static final class Page<T> {
    final List<T> items;
    final String nextCursor;

    public Page(List<T> items, String nextCursor) {
      this.items = items;
      this.nextCursor = nextCursor;
    }
  }

  private final Function<String, Page<T>> load;
  private final String what;
  private List<T> page;
  private String cursor;

  /** {@code load(cursor)} fetches a page (null: the first one). */
  public PagedList(Function<String, Page<T>> load, String what) {
    this.load = load;
    this.what = what;
    Page<T> first = load.apply(null);
    page = first.items;
    cursor = first.nextCursor;
  }

  /** The items of the current page. */
  public List<T> page() {
    return page;
  }

  /** The cursor of the next page, or null on the last page. */
  public String cursor() {
    return cursor;
  }

  public boolean hasNextPage() {
    return cursor != null;
  }

  /** Replaces the current page with the next one; NoSuchElementException on the last. */
  public PagedList<T> loadNextPage() {
    if (cursor == null) {
      throw new NoSuchElementException("no next page");
    }
    Page<T> next = load.apply(cursor);
    page = next.items;
    cursor = next.nextCursor;
    return this;
  }

  /** Every item of every page from the current page on, loading pages as it goes. */
  @Override
  public Iterator<T> iterator() {
    return new Iterator<>() {
      private Iterator<T> current = page.iterator();

      @Override
      public boolean hasNext() {
        while (!current.hasNext()) {
          if (!hasNextPage()) {
            return false;
          }
          loadNextPage();
          current = page.iterator();
        }
        return true;
      }

      @Override
      public T next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return current.next();
      }
    };
  }

  /** The items of every page from the current one on, as a sequential stream. */
  public Stream<T> stream() {
    return StreamSupport.stream(
        Spliterators.spliteratorUnknownSize(iterator(), Spliterator.ORDERED | Spliterator.NONNULL),
        false);
  }

  /** Loads every remaining page and returns all items, from the current page on. */
  public List<T> all() {
    List<T> out = new ArrayList<>();
    for (T item : this) {
      out.add(item);
    }
    return out;
  }

  @Override
  public String toString() {
    return "PagedList{" + what + ": " + page.size() + " on this page"
        + (hasNextPage() ? ", more" : "") + "}";
  }
}
