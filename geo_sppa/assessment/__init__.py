"""Strategic-assessment tables: collision trends, crime costs, the risk matrix, the pipeline."""
