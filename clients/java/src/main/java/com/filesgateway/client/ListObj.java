package com.filesgateway.client;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One page of a list action with the SDK's paging: iterating a ListObj walks every item of
 * every page from the current one on, loading pages as it goes (auto paging); for manual
 * paging, {@link #page()} is the current page, {@link #hasNextPage()} and
 * {@link #loadNextPage()} move on.
 *
 * <pre>
 * for (Model user : client.resource("users").list(Map.of("per_page", 1000))) { ... }
 *
 * ListObj page = client.resource("users").list();
 * while (true) {
 *   handle(page.page());
 *   if (!page.hasNextPage()) break;
 *   page.loadNextPage();
 * }
 * </pre>
 *
 * <p>The first page is loaded when the list action is called, so its errors surface there.
 * Not thread-safe: iteration moves the ListObj to later pages.
 */
public final class ListObj implements Iterable<Model> {
  private final FilesGateway client;
  private final ApiMethod method;
  private final DynamicMessage request;
  private final RequestOptions options;
  private final FieldDescriptor itemsField;
  private final FieldDescriptor cursorField;
  private final FieldDescriptor nextCursorField;
  private List<Model> page = List.of();
  private String cursor;
  private boolean started;

  ListObj(FilesGateway client, ApiMethod method, DynamicMessage request,
          RequestOptions options) {
    this.client = client;
    this.method = method;
    this.request = request;
    this.options = options;
    this.itemsField = method.outputType().findFieldByName("items");
    this.nextCursorField = method.outputType().findFieldByName("next_cursor");
    this.cursorField = method.inputType().findFieldByName("cursor");
    if (itemsField == null || nextCursorField == null || cursorField == null) {
      throw new IllegalStateException(method + " is marked paginated but lacks "
          + "cursor / items / next_cursor");
    }
    loadNextPage();
  }

  /** The items of the current page. */
  public List<Model> page() {
    return page;
  }

  /** The number of items on the current page. */
  public int size() {
    return page.size();
  }

  /** The cursor of the next page, or null on the last page. */
  public String cursor() {
    return cursor;
  }

  public boolean hasNextPage() {
    return cursor != null;
  }

  /** The action this list comes from. */
  public ApiMethod method() {
    return method;
  }

  /**
   * Replaces the current page with the next one (the first one on the first call).
   * Throws NoSuchElementException when there is no next page.
   */
  public ListObj loadNextPage() {
    DynamicMessage req = request;
    if (started) {
      if (cursor == null) {
        throw new NoSuchElementException("no next page");
      }
      req = request.toBuilder().setField(cursorField, cursor).build();
    }
    Message response = client.unary(method, req, options);
    started = true;
    int n = response.getRepeatedFieldCount(itemsField);
    List<Model> items = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      items.add(new Model((Message) response.getRepeatedField(itemsField, i), client));
    }
    page = Collections.unmodifiableList(items);
    String next = (String) response.getField(nextCursorField);
    cursor = next == null || next.isEmpty() ? null : next;
    return this;
  }

  /** Every item of every page from the current page on, loading pages as it goes. */
  @Override
  public Iterator<Model> iterator() {
    return new Iterator<>() {
      private Iterator<Model> current = page.iterator();

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
      public Model next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return current.next();
      }
    };
  }

  /** The items of every page from the current one on, as a sequential stream. */
  public Stream<Model> stream() {
    return StreamSupport.stream(
        Spliterators.spliteratorUnknownSize(iterator(), Spliterator.ORDERED | Spliterator.NONNULL),
        false);
  }

  /** Loads every remaining page and returns all items, from the current page on. */
  public List<Model> all() {
    List<Model> out = new ArrayList<>();
    for (Model m : this) {
      out.add(m);
    }
    return out;
  }

  @Override
  public String toString() {
    return "ListObj{" + method.resource() + "." + method.action() + ": " + page.size()
        + " on this page" + (hasNextPage() ? ", more" : "") + "}";
  }
}
